// The one-file bundle of @duckdb/node-api that `npm run build` makes (scripts/bundle-duckdb.mjs) and
// src/store/db.ts loads: used only while it was made from the installed version, and the whole process
// then uses it (query output tells DuckDB's value classes apart with instanceof).
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import {createRequire} from 'node:module';
import path from 'node:path';
import {pathToFileURL} from 'node:url';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {duckDbBundle} from '../../src/store/db.js';
import {tmpDir} from '../ingest/helpers.js';

const require = createRequire(import.meta.url);
const installed = (JSON.parse(fs.readFileSync(require.resolve('@duckdb/node-api/package.json'), 'utf8')) as {version: string}).version;

/** A package root holding a bundle made from `version`. */
const roots = tmpDir('duckdb-bundle');

function rootWith(name: string, version: string | null): URL {
  const root = path.join(roots, name);
  fs.mkdirSync(path.join(root, 'dist/vendor'), {recursive: true});
  fs.writeFileSync(path.join(root, 'dist/vendor/duckdb-node-api.cjs'), 'module.exports = {};\n');
  if (version !== null) fs.writeFileSync(path.join(root, 'dist/vendor/duckdb-node-api.version'), `${version}\n`);
  return pathToFileURL(`${root}/`);
}

test('duckDbBundle: the bundle of the installed version is used; another version, or none recorded, is not', () => {
  const same = rootWith('same', installed);
  assert.is(duckDbBundle(require, same), path.join(same.pathname, 'dist/vendor/duckdb-node-api.cjs'));
  assert.is(duckDbBundle(require, rootWith('other', '0.0.1')), null);
  assert.is(duckDbBundle(require, rootWith('unrecorded', null)), null);
});

test('npm run build made the bundle, of the installed version, and ktrail loads it (and only it)', () => {
  const bundle = duckDbBundle();
  assert.ok(bundle, 'dist/vendor/duckdb-node-api.cjs of the installed @duckdb/node-api');
  const dir = tmpDir('duckdb-bundle');
  const db = path.join(dir, 'q.duckdb');
  const ingest = spawnSync(process.execPath, ['bin/run.js', 'ingest', 'samples/demo/dmesg.txt', '--db', db], {encoding: 'utf8'});
  assert.is(ingest.status, 0, ingest.stderr);
  // A query whose output needs the value classes (BLOB, DECIMAL, LIST) of the module the database was opened with.
  const r = spawnSync(process.execPath, ['bin/run.js', 'query', '--db', db, "SELECT '\\x41\\x00'::BLOB AS b, 1.50::DECIMAL(4,2) AS d, [1, 2] AS l", '--format', 'csv'], {
    encoding: 'utf8',
    env: {...process.env, KTRAIL_TIMINGS: '1'},
  });
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout, 'b,d,l\nA\\x00,1.50,"[1, 2]"\n');
  assert.match(r.stderr, /loading @duckdb\/node-api \(bundle\)/);
});

test("the modules that use DuckDB's API at run time load no file of the package itself", () => {
  const script = `
    import {createRequire} from 'node:module';
    const {Db} = await import('./dist/src/store/db.js');
    await import('./dist/src/store/query.js');
    await import('./dist/src/output/sql-values.js');
    const db = await Db.open(':memory:');
    await db.all('SELECT 1');
    db.close();
    const cache = Object.keys(createRequire(import.meta.url).cache);
    console.log(JSON.stringify({bundle: cache.some((f) => f.endsWith('duckdb-node-api.cjs')), pkg: cache.filter((f) => f.includes('/@duckdb/node-api/'))}));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {encoding: 'utf8'});
  assert.is(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout), {bundle: true, pkg: []});
});

test.run();
