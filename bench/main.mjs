// `npm run bench`: the benchmark's sections, one after another.
//   real-cpu  bench/real-cpu.mjs, on the bare machine: hvsock's engine over
//             the internal loopback-TCP transport against node:net and C over
//             TCP loopback (no VM, no vsock)
//   vm        bench/run.mjs in the QEMU guest (test/vm/run.mjs; right here
//             where this kernel has vsock loopback): hvsock over vsock against
//             node-vsock, node:net and C, then the forwarder against socat
//   wine      bench/wine.mjs under `flock /tmp/hvsock-wine.lock`, where Wine is
//             installed: the Windows engine against Windows node:net, both in
//             Windows node.exe, over TCP loopback
// Each section prints its own tables (with --json, its own JSON document).
//   --only=real-cpu|vm|wine (or HVSOCK_BENCH_ONLY, comma-separated): only
//   those sections, as in `npm run bench -- --only=real-cpu`
// The sizes (HVSOCK_BENCH_*) are described in each section's file; every
// section reads the same variables, with its own defaults.
import { spawnSync } from 'node:child_process';
import { here, log } from './measure.mjs';

const forwarded = process.argv.slice(2).filter((a) => !a.startsWith('--only='));
const sections = {
  'real-cpu': [process.execPath, here('real-cpu.mjs'), ...forwarded],
  vm: [process.execPath, here('../test/vm/run.mjs'), '--here-if-loopback', '--', 'node', 'bench/run.mjs', ...forwarded],
  wine: ['flock', '/tmp/hvsock-wine.lock', process.execPath, here('wine.mjs'), ...forwarded],
};
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length) ?? process.env.HVSOCK_BENCH_ONLY;
const chosen = only ? only.split(',') : Object.keys(sections);
for (const name of chosen) if (!(name in sections)) throw new Error(`unknown section ${name}: ${Object.keys(sections).join(', ')}`);

let worst = 0;
for (const name of chosen) {
  log(`section ${name}`);
  const [command, ...args] = sections[name];
  const r = spawnSync(command, args, { stdio: 'inherit', cwd: here('..') });
  const status = r.status ?? 1;
  if (status !== 0) log(`section ${name} exited with ${r.error?.message ?? status}`);
  worst = Math.max(worst, status);
}
process.exitCode = worst;
