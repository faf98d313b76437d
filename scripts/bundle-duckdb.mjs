#!/usr/bin/env node
// Bundles @duckdb/node-api's JavaScript (part of `npm run build`) into one file,
// dist/vendor/duckdb-node-api.cjs, which src/store/db.ts loads instead of the
// package. The package is ~110 CommonJS files: resolving, reading and compiling
// each took ~85-140 ms of every command that opens a database; the one file
// takes ~20 ms (its native binding, @duckdb/node-bindings, is loaded as before:
// it stays outside the bundle). The package's version is written beside it, and
// db.ts uses the bundle only while the installed package has that version. A
// machine without esbuild (an install without dev dependencies) gets a note and
// no bundle: ktrail then loads the package itself.
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.join(root, 'dist/vendor');
const out = path.join(outDir, 'duckdb-node-api.cjs');
const versionFile = path.join(outDir, 'duckdb-node-api.version');

function skip(why) {
  fs.rmSync(out, {force: true});
  fs.rmSync(versionFile, {force: true});
  console.log(`dist/vendor: @duckdb/node-api not bundled (${why}); ktrail loads the package`);
  process.exit(0);
}

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  skip('esbuild is not installed');
}
const pkgDir = path.join(root, 'node_modules/@duckdb/node-api');
const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
fs.mkdirSync(outDir, {recursive: true});
await esbuild.build({
  entryPoints: [path.join(pkgDir, pkg.main ?? 'lib/index.js')],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['@duckdb/node-bindings'],
  outfile: out,
  logLevel: 'warning',
  legalComments: 'inline',
  banner: {js: `// @duckdb/node-api ${pkg.version} (MIT, DuckDB Labs), bundled by scripts/bundle-duckdb.mjs.`},
});
fs.writeFileSync(versionFile, `${pkg.version}\n`);
console.log(`${path.relative(root, out)}: @duckdb/node-api ${pkg.version}`);
