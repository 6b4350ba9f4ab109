#!/usr/bin/env node
// Builds what `npm run demo` needs, and only what changed since the last
// build: the native addon when a file in native/ or binding.gyp is newer than
// build/Release/hvsock.node, dist/ when a file in src/ (or the TypeScript
// set-up) is newer than dist/. The builds' own output is kept and shown only
// when they fail, so a demo prints the demo. A fresh clone builds both.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, utimesSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

/**
 * The newest modification time of these files and folders and of everything
 * under the folders (0 when none exists). A folder's own time counts: it
 * changes when a file in it is deleted or renamed.
 */
function newest(paths) {
  let latest = 0;
  for (const path of paths) {
    if (!existsSync(path)) continue;
    const stat = statSync(path);
    latest = Math.max(latest, stat.mtimeMs);
    if (stat.isDirectory()) latest = Math.max(latest, newest(readdirSync(path).map((entry) => join(path, entry))));
  }
  return latest;
}

/** The modification time of an output, or -1 when it is missing (always stale). */
const builtAt = (path) => (existsSync(path) ? statSync(path).mtimeMs : -1);

/** Runs a build step with its output captured; prints that output and exits only if it fails. */
function run(what, args) {
  const result = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status === 0) return;
  process.stderr.write(`${result.stdout ?? ''}${result.stderr ?? ''}`);
  if (result.error) process.stderr.write(`${result.error.message}\n`);
  console.error(`build-if-stale: ${what} failed (its output is above)`);
  process.exit(result.status || 1);
}

export function buildNativeIfStale() {
  const addon = join(root, 'build', 'Release', 'hvsock.node');
  if (builtAt(addon) >= newest([join(root, 'native'), join(root, 'binding.gyp')])) return false;
  const nodeGyp = require.resolve('node-gyp/bin/node-gyp.js');
  // A configured build/ only needs make, which recompiles just the changed
  // files; a new binding.gyp (or none configured yet) needs a configure first.
  const configured = builtAt(join(root, 'build', 'Makefile')) >= newest([join(root, 'binding.gyp')]);
  run(`node-gyp ${configured ? 'build' : 'rebuild'}`, [nodeGyp, configured ? 'build' : 'rebuild']);
  // make leaves the addon alone when only another OS's sources changed
  // (pump_win.cc): mark it current, or every later run would build again.
  const now = new Date();
  utimesSync(addon, now, now);
  return true;
}

export function buildDistIfStale() {
  // build-ts.mjs writes the ESM entries after tsc has succeeded, hvsock/host's last.
  const marker = join(root, 'dist', 'esm', 'host', 'index.mjs');
  const inputs = [join(root, 'src'), join(root, 'tsconfig.json'), join(root, 'scripts', 'build-ts.mjs')];
  if (builtAt(marker) >= newest(inputs)) return false;
  run('tsc (scripts/build-ts.mjs)', [join(root, 'scripts', 'build-ts.mjs')]);
  return true;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  buildNativeIfStale();
  buildDistIfStale();
}
