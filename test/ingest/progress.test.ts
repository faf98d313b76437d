import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {createProgress, endProgressLines, formatBytes} from '../../src/ingest/progress.js';

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  return {stream: {isTTY, write: (s: string) => writes.push(s)} as unknown as NodeJS.WriteStream, writes};
}

test('progress is written only when enabled and stderr is a terminal', async () => {
  for (const [tty, enabled, expectOutput] of [[true, true, true], [false, true, false], [true, false, false]] as const) {
    const {stream, writes} = fakeStream(tty);
    const p = createProgress('trace.txt', enabled, stream);
    await new Promise((r) => setTimeout(r, 520));
    p.update(3 * 1024 * 1024, 12345);
    p.done();
    assert.is(writes.length > 0, expectOutput, `tty=${tty} enabled=${enabled}`);
    if (expectOutput) {
      assert.match(writes[0]!, /trace\.txt: 3\.0 MiB read, 12,345 lines \([\d,]+ lines\/s\)/);
      assert.is(writes[writes.length - 1], '\r\x1b[K', 'the line is cleared at the end');
    }
  }
});

test('a signal\'s exit clears the progress line on screen (endProgressLines), once, and done() after it writes nothing', async () => {
  // A Ctrl-C of an ingest on a terminal left `big.txt: 63.0 MiB read, ...` with the shell's prompt after it.
  const {stream, writes} = fakeStream(true);
  const p = createProgress('big.txt', true, stream);
  await new Promise((r) => setTimeout(r, 520));
  p.update(63 * 1024 * 1024, 436_376);
  assert.is(writes.length, 1);
  endProgressLines();
  assert.equal(writes.slice(1), ['\r\x1b[K']);
  endProgressLines();
  p.done();
  assert.is(writes.length, 2, 'cleared once');
  // A progress that showed nothing has nothing to clear.
  const quiet = fakeStream(true);
  createProgress('small.txt', true, quiet.stream);
  endProgressLines();
  assert.equal(quiet.writes, []);
});

test('byte sizes', () => {
  assert.is(formatBytes(512), '512 B');
  assert.is(formatBytes(1536), '1.5 KiB');
  assert.is(formatBytes(5 * 1024 ** 3), '5.00 GiB');
});

test.run();
