// Every cache the project's harnesses keep lives under one root, so that one
// variable moves (or empties) all of them:
//   $HVSOCK_CACHE, else $XDG_CACHE_HOME/hvsock, else ~/.cache/hvsock
// with one folder per harness below it: vm/ (kernels, initramfs), wine/ (the
// Wine prefix), node/ (Node builds from the npm registry). Each harness asks
// for its folder through cacheDir(), which creates it: nothing may assume that
// an earlier run, or another harness, made a folder first.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function cacheRoot() {
  if (process.env.HVSOCK_CACHE) return path.resolve(process.env.HVSOCK_CACHE);
  const base = process.env.XDG_CACHE_HOME ? path.resolve(process.env.XDG_CACHE_HOME) : path.join(os.homedir(), '.cache');
  return path.join(base, 'hvsock');
}

/** The harness's own folder under the cache root, created if missing. */
export function cacheDir(name) {
  const dir = path.join(cacheRoot(), name);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}
