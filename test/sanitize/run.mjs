// npm run test:sanitize: the engine suite and the vsock suite against the
// addon built with AddressSanitizer and UndefinedBehaviorSanitizer. Any
// sanitizer report fails the run (test/sanitize/guard.mjs judges them).
//   1. build-sanitize/hvsock.node (test/sanitize/build.mjs), outside build/
//   2. the engine suite, as npm run test:engine runs it, over loopback TCP here
//   3. the vsock suite in one QEMU guest, the guard running inside the guest
// Both load the sanitized addon through HVSOCK_ADDON_PATH (src/native.ts),
// which test/vm/run.mjs passes into the guest with the other HVSOCK_ variables.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensurePackages, makeUpdater } from '../../scripts/apt.mjs';
import { buildSanitized } from './build.mjs';
import { guarded } from './guard.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.join(HERE, '..', '..');
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
  say('the vsock suite, in a QEMU guest');
  // The guard runs in the guest: LD_PRELOAD and the options are set there,
  // and the guest's /tmp (where the reports go) is not visible from here.
  const guard = path.join(HERE, 'guard.mjs');
  const vitest = ['npx', 'vitest', 'run', '--config', 'test/vm/vitest.config.ts'];
  const vm = spawnSync(process.execPath, [path.join(ROOT, 'test', 'vm', 'run.mjs'), '--', process.execPath, guard, '--', ...vitest], {
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
