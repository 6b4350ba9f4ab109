// npm run test:sanitize: the engine suite and the vsock suite against the
// addon built with AddressSanitizer and UndefinedBehaviorSanitizer. Any
// sanitizer report fails the run (test/sanitize/guard.mjs judges them).
//   1. build-sanitize/hvsock.node (test/sanitize/build.mjs), outside build/
//   2. the engine suite, as npm run test:engine runs it, over loopback TCP here
//   3. the vsock suite's engine files (SANITIZED_VM_FILES) in one QEMU guest,
//      the guard running inside the guest, the sanitizers in vitest's workers
//      (test/sanitize/vitest.config.ts)
// Both load the sanitized addon through HVSOCK_ADDON_PATH (src/transport/native.ts),
// which test/vm/run.mjs passes into the guest with the other HVSOCK_ variables.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensurePackages, makeUpdater } from '../../scripts/apt.mjs';
import { buildSanitized } from './build.mjs';
import { guarded } from './guard.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.join(HERE, '..', '..');

// The vsock suite's files, in two lists; every test/vm/*.test.ts must be in
// one of them (checked below), so a new file is a decision, not an omission.
//
// Under the sanitizers: the files whose tests drive the native engine, in the
// test's own process or in fixture processes that load the addon (children
// inherit LD_PRELOAD and HVSOCK_ADDON_PATH). What ASan and UBSan are for is
// memory errors in the addon, and these reach every path it has.
const SANITIZED_VM_FILES = [
  // Connecting and serving: the calling forms, both address forms, many
  // connections at once, and the errors node:net shapes (refused, bad
  // arguments, a throw from a callback).
  'api', 'echo', 'errors',
  // Moving data: 64 MiB each way, backpressure and a paused reader (writes the
  // kernel pushed back, their buffers held until done), shutdown of one side.
  'transfer', 'halfclose',
  // Closing and tearing down: destroy mid-write, server.close, thousands of
  // connect/close cycles, peers killed, stopped and flooded, destroy() inside
  // the socket's own callbacks, worker threads terminated with open sockets
  // and processes exiting with unref'd ones (the environment cleanup hooks),
  // descriptor exhaustion, adopting an inherited descriptor.
  'lifecycle', 'faults', 'processes',
  // Connecting again and giving up: a fresh descriptor per attempt, abort and
  // destroy while waiting or connecting, connect timeouts, socket options.
  'redial', 'connect-timeout',
];
// Not under the sanitizers: these run the hvsock command and the examples as a
// user does, each in processes of their own, for their command lines, output
// and exit codes. The engine calls underneath are the ones the files above
// make; npm run test:vm runs these un-sanitized, and here they would add about
// three minutes of emulated, sanitized CLI start-ups (examples alone 90 s).
const UNSANITIZED_VM_FILES = [
  // The hvsock command: listen/connect bridging files, echo, doctor, exit
  // codes; --keep-open and SIGINT handling.
  'cli', 'cli-signals',
  // examples/ as a user runs them.
  'examples',
  // `hvsock forward` with real peers (sshd, ssh, scp, curl): the forwarder
  // runs as its own CLI processes and its relay is stream.pipe over the
  // sockets the files above test; under the sanitizers its SSH and scp runs
  // would add minutes of emulated crypto and start-ups for no engine call of
  // their own.
  'forward',
  // `hvsock selftest`: its checks are echo, transfer, half-close, refusal,
  // connectTimeout and addresses, which the files above test directly.
  'selftest',
  // hvsock/http with node:http, undici and servers (issue 19): library code
  // over the engine paths the files above cover; the docs' code blocks (all run in the guest).
  'http', 'protocols', 'docs-snippets',
  // The guest without vsock_loopback: fresh processes under strace, the demo
  // and doctor; the addon only opens and binds one socket (the probe).
  'no-loopback',
];

/** The sanitized files as vitest arguments; throws when a file of the suite is in neither list. */
function sanitizedVmFiles() {
  const suite = fs.readdirSync(path.join(ROOT, 'test', 'vm')).filter((f) => f.endsWith('.test.ts')).map((f) => f.slice(0, -'.test.ts'.length));
  const listed = new Set([...SANITIZED_VM_FILES, ...UNSANITIZED_VM_FILES]);
  const unlisted = suite.filter((name) => !listed.has(name));
  const missing = [...listed].filter((name) => !suite.includes(name));
  if (unlisted.length > 0 || missing.length > 0) {
    throw new Error(
      `test/sanitize/run.mjs lists the vsock suite's files: ${unlisted.length ? `not listed: ${unlisted.join(', ')}` : ''}` +
        `${unlisted.length && missing.length ? '; ' : ''}${missing.length ? `listed but gone: ${missing.join(', ')}` : ''}`,
    );
  }
  return SANITIZED_VM_FILES.map((name) => `test/vm/${name}.test.ts`);
}
const say = (message) => process.stderr.write(`hvsock sanitize: ${message}\n`);
const seconds = (since) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

/**
 * The engine suite loads dist/, built from src/ by npm run build:ts; a dist
 * older than the HVSOCK_ADDON_PATH knob would quietly test build/ instead.
 * This loads the binding the suite's way and checks which file got mapped.
 */
function checkLoadsSanitized(addon) {
  const script = `require(${JSON.stringify(path.join(ROOT, 'dist', 'cjs', 'transport', 'native.js'))}).loadBinding();
    process.exit(require('fs').readFileSync('/proc/self/maps', 'utf8').includes(${JSON.stringify(addon)}) ? 0 : 3);`;
  const status = guarded([process.execPath, '-e', script], { cwd: ROOT, label: 'loading the sanitized addon through dist/' });
  if (status === 3) throw new Error('dist/ does not load HVSOCK_ADDON_PATH: run npm run build:ts first');
  if (status !== 0) throw new Error(`the sanitized addon does not load (exit status ${status})`);
}

async function main() {
  // First, so that a suite file in neither list fails the run at once.
  const vmFiles = sanitizedVmFiles();

  // g++ pulls in libasan8 and libubsan1 (through libgcc-12-dev); named anyway,
  // as these are what the run preloads.
  ensurePackages(['g++', 'libasan8', 'libubsan1'], say, makeUpdater(say), 'hvsock sanitize');

  let started = performance.now();
  say('building the addon with -fsanitize=address,undefined');
  const addon = await buildSanitized();
  say(`built ${path.relative(ROOT, addon)} in ${seconds(started)}`);
  process.env.HVSOCK_ADDON_PATH = addon;
  checkLoadsSanitized(addon);

  started = performance.now();
  say('the engine suite, over loopback TCP');
  const engine = guarded([process.execPath, path.join(ROOT, 'test', 'engine', 'run.mjs')], { cwd: ROOT });
  say(`engine suite: exit status ${engine} after ${seconds(started)}`);
  if (engine !== 0) return engine;

  started = performance.now();
  say(`the vsock suite's engine files (${vmFiles.length} of ${vmFiles.length + UNSANITIZED_VM_FILES.length}), in a QEMU guest`);
  // The guard runs in the guest: LD_PRELOAD and the options are set there,
  // and the guest's /tmp (where the reports go) is not visible from here.
  // They go to vitest's workers, not its main process (guard.mjs, workerEnv).
  const guard = path.join(HERE, 'guard.mjs');
  // vitest's own entry point, not npx: npx would first load npm, seconds on
  // the emulated CPU, only to find the same file.
  const vitest = [process.execPath, path.join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--config', 'test/sanitize/vitest.config.ts', ...vmFiles];
  const vm = spawnSync(process.execPath, [path.join(ROOT, 'test', 'vm', 'run.mjs'), '--', process.execPath, guard, '--vitest-workers', '--', ...vitest], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  say(`vsock suite: exit status ${vm.status} after ${seconds(started)}`);
  return vm.status ?? 1;
}

try {
  process.exitCode = await main();
} catch (error) {
  say(error.message);
  process.exitCode = 125;
}
