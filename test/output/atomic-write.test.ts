import {spawn, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {fileKey, openReplacementSync, outputTarget, resolvePath, writeFileAtomic} from '../../src/output/atomic-write.js';

// writeFileAtomic / openReplacementSync (the gate's --junit, --sarif, baseline; export's --out). Device nodes are
// made here, never the real /dev entries: a build that renamed over them replaced /dev/null for the whole machine.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-atomic-write-'));

/** A character device node under the test directory (1,3 is null, 1,7 full), or null where mknod is not allowed. */
function fakeDevice(name: string, minor: 3 | 7): string | null {
  const p = path.join(dir, name);
  fs.rmSync(p, {force: true});
  const r = spawnSync('mknod', ['-m', '666', p, 'c', '1', String(minor)]);
  return r.status === 0 ? p : null;
}

test('a character device is written in place, not replaced by a regular file; a write error is thrown', async () => {
  const nul = fakeDevice('fakenull', 3);
  const full = fakeDevice('fakefull', 7);
  if (!nul || !full) {
    console.log('  (skipped: mknod is not allowed here)');
    return;
  }
  await writeFileAtomic(nul, 'report\n');
  assert.ok(fs.statSync(nul).isCharacterDevice(), 'still the device');
  assert.is(openReplacementSync(nul), null, 'a streaming writer writes it in place');
  await writeFileAtomic(full, 'report\n').then(
    () => assert.unreachable('a full device took the report'),
    (err: NodeJS.ErrnoException) => assert.is(err.code, 'ENOSPC'),
  );
  assert.ok(fs.statSync(full).isCharacterDevice());
  // Through a symlink: the link stays, the device too.
  const link = path.join(dir, 'to-null');
  fs.symlinkSync(nul, link);
  await writeFileAtomic(link, 'report\n');
  assert.ok(fs.lstatSync(link).isSymbolicLink());
  assert.ok(fs.statSync(nul).isCharacterDevice());
  assert.equal(fs.readdirSync(dir).filter((f) => f.includes('.tmp')), []);
});

test('a FIFO is written in place: its reader gets the text', async () => {
  const fifo = path.join(dir, 'fifo');
  assert.is(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');
  const reader = spawn('cat', [fifo]);
  let got = '';
  reader.stdout.on('data', (d: Buffer) => (got += d.toString()));
  const done = new Promise((resolve) => reader.on('close', resolve));
  await writeFileAtomic(fifo, 'through the pipe\n');
  // A writer that replaced the FIFO leaves its reader waiting: not for ever.
  const timer = setTimeout(() => reader.kill(), 5000);
  await done;
  clearTimeout(timer);
  assert.is(got, 'through the pipe\n');
  assert.ok(fs.statSync(fifo).isFIFO());
});

test('a path through /proc/PID/fd (/dev/stdout, a symlink to /proc/self/fd/N) is written in place, through the descriptor itself when it is a regular file', () => {
  const out = path.join(dir, 'stdout-file.txt');
  const link = path.join(dir, 'to-stdout');
  fs.symlinkSync('/proc/self/fd/1', link);
  // Run in a child whose stdout is a regular file.
  fs.writeFileSync(out, 'before\n');
  const fd = fs.openSync(out, 'a');
  const ino = fs.fstatSync(fd).ino;
  const script = `import {writeFileAtomic} from ${JSON.stringify(path.resolve('src/output/atomic-write.ts'))}; await writeFileAtomic(${JSON.stringify(link)}, 'report\\n');`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {stdio: ['ignore', fd, 'pipe'], encoding: 'utf8'});
  fs.closeSync(fd);
  assert.is(r.status, 0, r.stderr);
  assert.ok(fs.lstatSync(link).isSymbolicLink(), 'the link stays');
  assert.ok(outputTarget('/dev/stdout').inPlace);
  assert.ok(outputTarget(link).inPlace);
  // Written through the process's own descriptor, at its offset (here O_APPEND): after what the command wrote
  // there before. Opened anew with O_TRUNC, the report was written from the file's start, and the command's own
  // stdout lines then overwrote it.
  assert.is(fs.readFileSync(out, 'utf8'), 'before\nreport\n');
  assert.is(fs.statSync(out).ino, ino, 'the file the descriptor has open, not one renamed over its path');
  assert.equal(fs.readdirSync(dir).filter((f) => f.includes('.tmp')), []);
});

test('a dangling symlink: the file it names is created (in its own directory), the link stays a link', async () => {
  const art = path.join(dir, 'art');
  const out = path.join(dir, 'out');
  fs.mkdirSync(art);
  fs.mkdirSync(out);
  const link = path.join(out, 'k.sarif');
  fs.symlinkSync('../art/k.sarif', link);
  assert.is(resolvePath(link), path.join(fs.realpathSync(art), 'k.sarif'));
  await writeFileAtomic(link, 'sarif\n');
  assert.ok(fs.lstatSync(link).isSymbolicLink(), 'the link stays');
  assert.is(fs.readFileSync(path.join(art, 'k.sarif'), 'utf8'), 'sarif\n');
  // A chain of links, a relative one read from the directory the link is in (itself reached through a link).
  const viaDir = path.join(dir, 'out-link');
  fs.symlinkSync(out, viaDir);
  const second = path.join(out, 'j.xml');
  fs.symlinkSync('../art/j-link.xml', second);
  fs.symlinkSync('j.xml', path.join(art, 'j-link.xml'));
  const replacement = openReplacementSync(path.join(viaDir, 'j.xml'))!;
  fs.writeSync(replacement.fd, 'junit\n');
  replacement.commit();
  assert.ok(fs.lstatSync(second).isSymbolicLink());
  assert.ok(fs.lstatSync(path.join(art, 'j-link.xml')).isSymbolicLink());
  assert.is(fs.readFileSync(path.join(art, 'j.xml'), 'utf8'), 'junit\n');
  assert.equal(fs.readdirSync(out), ['j.xml', 'k.sarif']);
});

test('a regular file is replaced through a symlink, its permission bits kept', async () => {
  const real = path.join(dir, 'real.yml');
  fs.writeFileSync(real, 'old\n', {mode: 0o640});
  fs.chmodSync(real, 0o664);
  const link = path.join(dir, 'link.yml');
  fs.symlinkSync(real, link);
  const ino = fs.statSync(real).ino;
  await writeFileAtomic(link, 'new\n');
  assert.ok(fs.lstatSync(link).isSymbolicLink());
  assert.is(fs.readFileSync(real, 'utf8'), 'new\n');
  assert.is(fs.statSync(real).mode & 0o777, 0o664);
  assert.is.not(fs.statSync(real).ino, ino, 'replaced, not written in place');
});

test('fileKey: the same file under two paths (a symlink, a linked directory, a dangling link and its target) has one key', () => {
  const a = path.join(dir, 'key-a.log');
  fs.writeFileSync(a, 'x');
  const l = path.join(dir, 'key-link.log');
  fs.symlinkSync('key-a.log', l);
  assert.is(fileKey(l).key, fileKey(a).key);
  const d = path.join(dir, 'key-dir-link');
  fs.symlinkSync(dir, d);
  assert.is(fileKey(path.join(d, 'key-a.log')).key, fileKey(a).key);
  const dangling = path.join(dir, 'key-dangling');
  fs.symlinkSync('key-new.txt', dangling);
  assert.is(fileKey(dangling).key, fileKey(path.join(d, 'key-new.txt')).key);
  assert.is.not(fileKey(dangling).key, fileKey(a).key);
});

test.after(() => fs.rmSync(dir, {recursive: true, force: true}));

test.run();
