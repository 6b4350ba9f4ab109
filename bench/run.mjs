// `npm run bench`: hvsock over vsock loopback against node:net over TCP
// loopback, the node-vsock addon over vsock, and a C baseline over both, all
// in one run on one machine, as tables of medians with ratios. Inside the
// QEMU guest the CPU is emulated, so only the ratios mean anything.
// Every measurement runs HVSOCK_BENCH_REPEATS times (at least 3), in
// interleaved rounds: round 1 runs every measurement with every transport,
// then round 2 does it all again, and so on; the tables show medians.
//   HVSOCK_BENCH_MB (64): MiB per bulk run, once in 64 KiB writes, once in 1 MiB writes
//   HVSOCK_BENCH_ROUNDS (1000): one-byte round trips
//   HVSOCK_BENCH_CONNS (300): connections opened and closed one after another
//   HVSOCK_BENCH_IDLE (10000): idle connections held by one client process
//   HVSOCK_BENCH_IDLE_THREADED (= HVSOCK_BENCH_IDLE): the same for node-vsock, which runs a thread per
//     socket on each side (10,000 connections: 20,000 threads; the guest allows ~31,000)
//   HVSOCK_BENCH_REPEATS (3)
//   HVSOCK_BENCH_FORWARD_HOLD (1000): connections held open through each forwarder at once
//   HVSOCK_BENCH_FORWARD_REPEATS (5): rounds of the forwarder benchmark
// Then the forwarder benchmark (bench/forward.mjs): `hvsock forward` against
// socat doing the same vsock -> TCP forward, with the same ends.
//   --json: the medians and every round's figures as JSON
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AF_VSOCK, VMADDR_CID_LOCAL, VMADDR_PORT_ANY, encodeSockaddrVm } from 'hvsock';
import { formatFigure, formatRatio, formatTable, interleavedSchedule, median } from './stats.mjs';
import { forwardBench, printForwardBench } from './forward.mjs';

const here = (name) => fileURLToPath(new URL(name, import.meta.url));
const envNumber = (name, fallback) => Number(process.env[name] ?? fallback);
const sizes = {
  bulkMiB: envNumber('HVSOCK_BENCH_MB', 64),
  roundTrips: envNumber('HVSOCK_BENCH_ROUNDS', 1000),
  connections: envNumber('HVSOCK_BENCH_CONNS', 300),
  idle: envNumber('HVSOCK_BENCH_IDLE', 10000),
  idleThreaded: envNumber('HVSOCK_BENCH_IDLE_THREADED', envNumber('HVSOCK_BENCH_IDLE', 10000)),
  repeats: Math.max(3, envNumber('HVSOCK_BENCH_REPEATS', 3)),
};
const json = process.argv.includes('--json');
const log = (line) => process.stderr.write(`bench: ${line}\n`);

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

// The guest's descriptor limit (soft 1024, hard 4096) is below 10,000 idle
// connections; as root a shell can raise both, and Node then raises its soft
// limit to the hard one. If it cannot, the measurements hold what fits and say so.
const fdLimit = sizes.idle + 1024;

/** Runs one measurement; its result is the last JSON line it prints (node-vsock's lines carry a prefix). */
function runJson(command, args) {
  const out = execFileSync('sh', ['-c', `ulimit -n ${fdLimit} 2>/dev/null; exec "$@"`, 'sh', command, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 300_000,
  });
  const last = out
    .trim()
    .split('\n')
    .map((l) => l.replace(/^bench: /, ''))
    .filter((l) => l.startsWith('{'))
    .pop();
  if (last === undefined) throw new Error(`no result from ${command} ${args.join(' ')}`);
  return JSON.parse(last);
}

// What each measurement passes to a transport's script and which figure it reads back.
const KiB64 = 64 * 1024;
const MiB = 1024 * 1024;
const measurements = [
  { key: 'bulk64k', label: '64K writes MiB/s', args: ['bulk', sizes.bulkMiB, KiB64], figure: 'mibPerSec', higherIsBetter: true, digits: 1 },
  { key: 'bulk1m', label: '1M writes MiB/s', args: ['bulk', sizes.bulkMiB, MiB], figure: 'mibPerSec', higherIsBetter: true, digits: 1 },
  { key: 'roundTrip', label: 'round trip µs', args: ['pingpong', sizes.roundTrips], figure: 'usPerRoundTrip', higherIsBetter: false, digits: 1 },
  { key: 'connect', label: 'conns/s', args: ['connect', sizes.connections], figure: 'connPerSec', higherIsBetter: true, digits: 0 },
  { key: 'idle', label: 'idle RSS MiB', args: ['idle', sizes.idle], figure: 'idleRssMiB', higherIsBetter: false, digits: 1 },
];
// Figures that come with the idle measurement, shown in the table next to it.
const idleExtras = [
  { key: 'idlePerConnection', label: 'idle KiB/conn', figure: 'idleKiBPerConnection', higherIsBetter: false, digits: 2 },
  { key: 'idleServer', label: 'idle server MiB', figure: 'idleServerRssMiB', higherIsBetter: false, digits: 1 },
];

const vsock = hasVsockLoopback();
if (!vsock) {
  log('NO VSOCK LOOPBACK on this kernel (bind to CID 1 failed): vsock rows skipped. Use `npm run bench`, which runs in a QEMU guest.');
}
const baseline = buildBaseline();
const node = (script, ...pre) => (args) => runJson(process.execPath, [here(script), ...pre, ...args.map(String)]);
/** node-vsock is the benchmark's own dependency (bench/deps), built for linux-x64 glibc only: elsewhere its row is left out. */
function hasNodeVsock() {
  try {
    createRequire(here('deps/package.json')).resolve('node-vsock-linux-x64-gnu');
    return true;
  } catch {
    log('node-vsock-linux-x64-gnu is not installed (npm run bench installs it into bench/deps; linux-x64 glibc only): its row is skipped.');
    return false;
  }
}
const withNodeVsock = vsock && hasNodeVsock();
const transports = [
  ...(vsock ? [{ name: 'hvsock (vsock)', family: 'vsock', run: node('node-transport.mjs', 'hvsock') }] : []),
  ...(withNodeVsock
    ? [
        {
          name: 'node-vsock (vsock)',
          family: 'vsock',
          // A thread per socket on each side: HVSOCK_BENCH_IDLE_THREADED can hold it to fewer.
          run: (args) => node('node-vsock-transport.mjs')(args[0] === 'idle' ? ['idle', Math.min(args[1], sizes.idleThreaded)] : args),
        },
      ]
    : []),
  { name: 'node:net (TCP)', family: 'tcp', run: node('node-transport.mjs', 'net') },
  ...(vsock ? [{ name: 'C (vsock)', family: 'vsock', run: (args) => runJson(baseline, ['vsock', ...args.map(String)]) }] : []),
  { name: 'C (TCP)', family: 'tcp', run: (args) => runJson(baseline, ['tcp', ...args.map(String)]) },
];

// rounds[transport][measurement] = every round's result object
const rounds = Object.fromEntries(transports.map((t) => [t.name, Object.fromEntries(measurements.map((m) => [m.key, []]))]));
const failures = [];
const started = performance.now();
for (const { round, measurement, transport } of interleavedSchedule(sizes.repeats, measurements, transports)) {
  try {
    rounds[transport.name][measurement.key].push(transport.run(measurement.args));
  } catch (e) {
    const why = String(e.message).split('\n')[0];
    failures.push({ round, measurement: measurement.key, transport: transport.name, error: why });
    log(`round ${round}: ${transport.name} ${measurement.key} FAILED: ${why}`);
  }
  if (!json && transport === transports.at(-1)) log(`round ${round}: ${measurement.key} done (${((performance.now() - started) / 1000).toFixed(0)} s)`);
}

// medians[transport][figure key]
const medianOf = (results, figure) => {
  const values = results.map((r) => r[figure]).filter((v) => typeof v === 'number');
  return values.length > 0 ? median(values) : undefined;
};
const columns = [...measurements, ...idleExtras.map((x) => ({ ...x, from: 'idle' }))];
const medians = Object.fromEntries(
  transports.map((t) => [
    t.name,
    Object.fromEntries(columns.map((c) => [c.key, medianOf(rounds[t.name][c.from ?? c.key], c.figure)])),
  ]),
);
const idleCounts = Object.fromEntries(transports.map((t) => [t.name, rounds[t.name].idle[0]?.idleConnections]));

// The forwarder against socat: over vsock only, so not without loopback.
let forward;
if (vsock) {
  try {
    forward = await forwardBench({
      bulkMiB: sizes.bulkMiB,
      roundTrips: sizes.roundTrips,
      hold: envNumber('HVSOCK_BENCH_FORWARD_HOLD', 1000),
      repeats: Math.max(3, envNumber('HVSOCK_BENCH_FORWARD_REPEATS', 5)),
      log: json ? () => {} : log,
    });
  } catch (e) {
    const why = String(e.message).split('\n')[0];
    failures.push({ round: 0, measurement: 'forward', transport: 'hvsock forward / socat', error: why });
    log(`the forwarder benchmark FAILED: ${why}`);
  }
}

if (json) {
  console.log(JSON.stringify({ sizes, idleConnections: idleCounts, medians, rounds, forward, failures }, null, 2));
} else {
  printTables();
  if (forward !== undefined) printForwardBench(forward);
}

function printTables() {
  const header = ['transport', ...columns.map((c) => c.label)];
  const cBaseline = (t) => (t.family === 'vsock' ? 'C (vsock)' : 'C (TCP)');
  const table = (title, cell) => {
    console.log(`\n${title}`);
    const rows = [header, ...transports.map((t) => [t.name, ...columns.map((c) => cell(t, c))])];
    for (const line of formatTable(rows)) console.log(line);
  };
  console.log(
    'columns: bulk throughput with 64 KiB and with 1 MiB writes; one-byte round trip; connections opened and closed per second; ' +
      'resident memory of the client process holding the idle connections, its growth per connection, and the server process\'s RSS',
  );
  console.log(
    `medians of ${sizes.repeats} interleaved rounds; bulk ${sizes.bulkMiB} MiB, ${sizes.roundTrips} round trips, ` +
      `${sizes.connections} connections, idle connections per transport: ` +
      transports.map((t) => `${t.name} ${idleCounts[t.name] ?? '-'}`).join(', '),
  );
  table('figures', (t, c) => formatFigure(medians[t.name][c.key], c.digits));
  table('ratio to C on the same transport (above 1: better than C)', (t, c) =>
    formatRatio(medians[t.name][c.key], medians[cBaseline(t)]?.[c.key], c.higherIsBetter),
  );
  table('ratio to node:net over TCP (above 1: better than node:net)', (t, c) =>
    formatRatio(medians[t.name][c.key], medians['node:net (TCP)']?.[c.key], c.higherIsBetter),
  );
  const threaded = idleCounts['node-vsock (vsock)'];
  if (threaded !== undefined && threaded < sizes.idle) {
    console.log(
      `\nnode-vsock held ${threaded} idle connections, not ${sizes.idle}: it runs a thread per socket on each side ` +
        '(HVSOCK_BENCH_IDLE_THREADED raises it); compare its KiB/conn, not its RSS.',
    );
  }
  for (const t of transports) {
    if (idleCounts[t.name] !== undefined && idleCounts[t.name] < Math.min(sizes.idle, t.name.startsWith('node-vsock') ? sizes.idleThreaded : Infinity)) {
      console.log(`${t.name}: only ${idleCounts[t.name]} idle connections fit under the open-file limit.`);
    }
  }
  for (const f of failures) console.log(`FAILED: round ${f.round}, ${f.transport}, ${f.measurement}: ${f.error}`);
}
