// Builds every prebuilt binary this Linux machine can make, into prebuilds/,
// named as prebuildify names them so node-gyp-build finds them:
//   node scripts/prebuild.mjs [--targets linux-x64,linux-arm64,win32-x64]
//
//   linux-x64    prebuildify --napi --tag-libc with the host's g++ (Debian 12, glibc 2.36
//                headers; the binary asks for nothing newer than glibc 2.28)
//   linux-arm64  prebuildify --napi --arch arm64 with Debian's aarch64-linux-gnu cross g++
//   win32-x64    scripts/build-win32.mjs (mingw-w64)
//
// Missing cross compilers are installed with apt (as root). Prints one line
// per target with its size and the newest glibc/GLIBCXX symbol version it needs.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensurePackages, makeUpdater } from './apt.mjs';
import { binaryFloor } from './binary-floor.mjs';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const log = (message) => process.stderr.write(`prebuild: ${message}\n`);
const prebuildify = path.join(ROOT, 'node_modules', 'prebuildify', 'bin.js');
// A Node-API build works on every Node version; build against this Node's own
// headers (no download), which is what node-gyp does under npm with nodedir set.
// --tag-libc: a glibc binary is never tried on musl (Alpine), which gets its own build.
const TARGET = ['--napi', '--strip', '--tag-libc', '--target', process.versions.node];
const NODE_HEADERS = { npm_config_nodedir: process.env.npm_config_nodedir || headersRoot() };

function headersRoot() {
  const root = path.join(path.dirname(process.execPath), '..');
  return fs.existsSync(path.join(root, 'include', 'node', 'node_api.h')) ? root : undefined;
}

const TARGETS = {
  'linux-x64': {
    packages: ['g++', 'make', 'binutils'],
    build: () => run(process.execPath, [prebuildify, ...TARGET], NODE_HEADERS),
    how: 'prebuildify --napi --tag-libc, host g++',
  },
  'linux-arm64': {
    packages: ['g++-aarch64-linux-gnu', 'binutils-aarch64-linux-gnu'],
    build: () =>
      run(process.execPath, [prebuildify, ...TARGET, '--arch', 'arm64'], {
        ...NODE_HEADERS,
        CC: 'aarch64-linux-gnu-gcc',
        CXX: 'aarch64-linux-gnu-g++',
        LINK: 'aarch64-linux-gnu-g++',
        AR: 'aarch64-linux-gnu-ar',
        PREBUILD_STRIP_BIN: 'aarch64-linux-gnu-strip',
      }),
    how: 'prebuildify --napi --tag-libc --arch arm64, Debian aarch64-linux-gnu cross g++',
  },
  'win32-x64': {
    packages: ['g++-mingw-w64-x86-64-posix', 'mingw-w64-tools'],
    build: () => run(process.execPath, [path.join(ROOT, 'scripts', 'build-win32.mjs')]),
    how: 'scripts/build-win32.mjs, Debian mingw-w64',
  },
};

function run(file, args, env = {}) {
  const merged = { ...process.env };
  for (const [key, value] of Object.entries(env)) if (value !== undefined) merged[key] = value;
  const r = spawnSync(file, args, { cwd: ROOT, stdio: ['ignore', 2, 2], env: merged });
  if (r.status !== 0) throw new Error(`prebuild: ${path.basename(file)} ${args.join(' ')} failed`);
}

const targetsArg = process.argv.indexOf('--targets');
const wanted = targetsArg >= 0 ? process.argv[targetsArg + 1].split(',') : Object.keys(TARGETS);
for (const name of wanted) if (!(name in TARGETS)) throw new Error(`prebuild: unknown target ${name}`);

const update = makeUpdater(log);
fs.rmSync(path.join(ROOT, 'prebuilds'), { recursive: true, force: true });
const rows = [];
for (const name of wanted) {
  const target = TARGETS[name];
  ensurePackages(target.packages, log, update, 'prebuild');
  log(`building ${name}`);
  target.build();
  const dir = path.join(ROOT, 'prebuilds', name);
  const file = fs.readdirSync(dir).find((f) => f.endsWith('.node'));
  if (file === undefined) throw new Error(`prebuild: ${name} produced no .node file`);
  const full = path.join(dir, file);
  rows.push({ target: name, file: path.relative(ROOT, full), bytes: fs.statSync(full).size, ...binaryFloor(full), how: target.how });
}
// node-gyp rebuilt build/ for the last prebuildify target; leave the host's own build behind.
if (wanted.includes('linux-arm64')) {
  log('rebuilding build/ for this machine');
  run(process.execPath, [path.join(ROOT, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'), 'rebuild'], NODE_HEADERS);
}
console.log(['target', 'file', 'KiB', 'needs', 'built with'].join('\t'));
for (const r of rows) console.log([r.target, r.file, (r.bytes / 1024).toFixed(0), r.needs, r.how].join('\t'));
