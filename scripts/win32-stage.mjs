// The package as `npm install` lays it out on Windows, for Windows node.exe
// under Wine (the engine suite's --wine runs, bench/wine.mjs): the win32
// prebuild, cross-built when it is older than the native sources, and a
// folder holding the package by name beside whatever runs it.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './apt.mjs';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');

/** prebuilds/win32-x64 is newer than every native source and binding.gyp: npm test's second Wine suite reuses it. */
function win32BuildIsFresh() {
  const binary = path.join(ROOT, 'prebuilds', 'win32-x64', 'hvsock.node');
  if (!fs.existsSync(binary)) return false;
  const built = fs.statSync(binary).mtimeMs;
  const sources = [path.join(ROOT, 'binding.gyp'), ...fs.readdirSync(path.join(ROOT, 'native'), { recursive: true }).map((f) => path.join(ROOT, 'native', f))];
  return sources.every((file) => fs.statSync(file).mtimeMs < built);
}

/** Cross-builds prebuilds/win32-x64 (scripts/build-win32.mjs) unless it is fresh; `what` names the caller in the error. */
export function ensureWin32Build(log, what) {
  if (!win32BuildIsFresh() && run(process.execPath, [path.join(ROOT, 'scripts', 'build-win32.mjs')], { log }).status !== 0) {
    throw new Error(`${what}: the win32 cross build failed`);
  }
}

export function copy(from, to) {
  fs.cpSync(from, to, { recursive: true, dereference: true });
}

/**
 * A fresh folder `dir` (named `name` in its package.json) holding, in
 * node_modules, the package's `files` with the win32 prebuild and
 * node-gyp-build, and no build/ directory: what runs in it loads hvsock by name.
 */
export function stageWin32Package(dir, name) {
  fs.rmSync(dir, { recursive: true, force: true });
  const pkg = path.join(dir, 'node_modules', 'hvsock');
  fs.mkdirSync(pkg, { recursive: true });
  for (const entry of ['package.json', 'binding.gyp', 'dist', path.join('prebuilds', 'win32-x64')]) {
    copy(path.join(ROOT, entry), path.join(pkg, entry));
  }
  copy(path.dirname(fileURLToPath(import.meta.resolve('node-gyp-build/package.json'))), path.join(dir, 'node_modules', 'node-gyp-build'));
  fs.writeFileSync(path.join(dir, 'package.json'), `{ "name": "${name}", "private": true }\n`);
}
