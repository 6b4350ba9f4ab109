// `npm run bench`: hvsock over vsock loopback against node:net over TCP
// loopback and a C baseline over both, all in one run on one machine, as a
// table with ratios. Inside the QEMU guest the CPU is emulated, so only the
// ratios mean anything.
//   HVSOCK_BENCH_MB (256), HVSOCK_BENCH_ROUNDS (2000), HVSOCK_BENCH_CONNS (500); --json
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AF_VSOCK, VMADDR_CID_LOCAL, VMADDR_PORT_ANY, encodeSockaddrVm } from 'hvsock';
import { createRequire } from 'node:module';

const here = (name) => fileURLToPath(new URL(name, import.meta.url));
const sizes = {
  bulk: Number(process.env.HVSOCK_BENCH_MB ?? 256),
  pingpong: Number(process.env.HVSOCK_BENCH_ROUNDS ?? 2000),
  connect: Number(process.env.HVSOCK_BENCH_CONNS ?? 500),
};
const json = process.argv.includes('--json');

/** vsock loopback exists if a socket can bind to CID 1; never probe with a connect. */
function hasVsockLoopback() {
  const require = createRequire(import.meta.url);
  const { loadBinding } = require('../dist/cjs/transport/native.js');
  const handle = new (loadBinding().SocketHandle)();
  try {
    return handle.open(AF_VSOCK, 0) === 0 && handle.bind(encodeSockaddrVm(VMADDR_CID_LOCAL, VMADDR_PORT_ANY)) === 0;
  } finally {
    handle.close();
  }
}

function buildBaseline() {
  // The guest's root is read-only: build into the temp dir.
  const binary = join(tmpdir(), `hvsock-bench-baseline-${process.pid}`);
  execFileSync('cc', ['-O2', '-o', binary, here('baseline.c')], { stdio: 'inherit' });
  return binary;
}

function runJson(command, args) {
  const out = execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 600_000 });
  return JSON.parse(out.trim().split('\n').pop());
}

const vsock = hasVsockLoopback();
if (!vsock) {
  console.error('bench: NO VSOCK LOOPBACK on this kernel (bind to CID 1 failed): vsock rows skipped. Use `npm run bench`, which runs in a QEMU guest.');
}
const baseline = buildBaseline();
const transports = [
  ...(vsock ? [{ name: 'hvsock (vsock)', run: (m, n) => runJson(process.execPath, [here('node-transport.mjs'), 'hvsock', m, n]) }] : []),
  { name: 'node:net (TCP)', run: (m, n) => runJson(process.execPath, [here('node-transport.mjs'), 'net', m, n]) },
  ...(vsock ? [{ name: 'C (vsock)', run: (m, n) => runJson(baseline, ['vsock', m, String(n)]) }] : []),
  { name: 'C (TCP)', run: (m, n) => runJson(baseline, ['tcp', m, String(n)]) },
];

const results = {};
for (const t of transports) {
  const bulk = t.run('bulk', sizes.bulk);
  const pingpong = t.run('pingpong', sizes.pingpong);
  const connect = t.run('connect', sizes.connect);
  results[t.name] = {
    mibPerSec: bulk.mibPerSec,
    usPerRoundTrip: pingpong.usPerRoundTrip,
    connPerSec: connect.connPerSec,
    bulkMaxRssMiB: bulk.maxRssMiB,
  };
  if (!json) console.error(`bench: ${t.name} done`);
}

if (json) {
  console.log(JSON.stringify({ sizes, results }, null, 2));
} else {
  printTable();
}

function printTable() {
  const fmt = (v, digits = 1) => (v === undefined ? '-' : v.toFixed(digits));
  const rows = [['transport', `bulk ${sizes.bulk} MiB (MiB/s)`, '1-byte round trip (µs)', 'connections/s', 'bulk peak RSS, either side (MiB)']];
  for (const [name, r] of Object.entries(results)) {
    rows.push([name, fmt(r.mibPerSec), fmt(r.usPerRoundTrip), fmt(r.connPerSec, 0), fmt(r.bulkMaxRssMiB)]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  const line = (row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  console.log(line(rows[0]));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows.slice(1)) console.log(line(row));

  const hv = results['hvsock (vsock)'];
  if (hv === undefined) return;
  console.log('\nratios (higher is better for hvsock; the emulated CPU makes absolute numbers meaningless)');
  for (const [other, label] of [['node:net (TCP)', 'hvsock / node:net'], ['C (vsock)', 'hvsock / C over vsock']]) {
    const o = results[other];
    console.log(
      `  ${label.padEnd(22)} throughput ${(hv.mibPerSec / o.mibPerSec).toFixed(2)}x  ` +
        `round trip ${(o.usPerRoundTrip / hv.usPerRoundTrip).toFixed(2)}x  ` +
        `connections ${(hv.connPerSec / o.connPerSec).toFixed(2)}x` +
        (o.bulkMaxRssMiB !== undefined ? `  peak RSS ${(hv.bulkMaxRssMiB / o.bulkMaxRssMiB).toFixed(2)}x (lower is better)` : ''),
    );
  }
}
