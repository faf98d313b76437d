import fs from 'node:fs';
import path from 'node:path';
import {gunzipSync} from 'node:zlib';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {LOG_FORMATS} from '../../src/ingest/log/index.js';
import {FORMATS} from '../../src/ingest/formats/index.js';
import {SHARED} from './helpers.js';

function head(file: string): string[] {
  let b: Buffer = fs.readFileSync(file);
  if (file.endsWith('.gz')) b = gunzipSync(b);
  return new TextDecoder().decode(b.subarray(0, 64 * 1024)).split('\n').slice(0, 64);
}

const FTRACE_FILES = [
  ...fs.readdirSync(path.join(SHARED, 'formats')).filter((f) => f.endsWith('.txt')).map((f) => path.join(SHARED, 'formats', f)),
  path.join(SHARED, 'captures/cap1_tracefs_mm/trace_tgid.txt.gz'),
  path.join(SHARED, 'captures/cap3_pipe_lost/trace_pipe.txt'),
  path.join(SHARED, 'captures/cap5_tracecmd_mm/report.txt.gz'),
  path.join(SHARED, 'captures/cap5_tracecmd_mm/report_l.txt.gz'),
];

test('no log format accepts ftrace text', () => {
  assert.ok(FTRACE_FILES.length > 20);
  for (const f of FTRACE_FILES) {
    const accepted = LOG_FORMATS.filter((fmt) => fmt.sniff(head(f))).map((fmt) => fmt.id);
    assert.equal(accepted, [], path.basename(f));
  }
});

test('log formats are registered after the ftrace formats', () => {
  for (const f of LOG_FORMATS) {
    assert.ok(f.priority >= 100, f.id);
    assert.ok(FORMATS.includes(f), `${f.id} registered`);
  }
  const ids = LOG_FORMATS.map((f) => f.id);
  assert.is(new Set(ids).size, ids.length);
});

test('sniffing is not fooled by a dmesg line that looks like a journal line', () => {
  const lines = ['[  600.004493] EXT4-fs (loop1): feature flags set on rev 0 fs', '[  600.013573] usb 2-1: new device', '[  600.013600] usb 2-1: kernel: odd'];
  assert.is(LOG_FORMATS.filter((f) => f.sniff(lines)).map((f) => f.id)[0], 'dmesg');
});

test.run();
