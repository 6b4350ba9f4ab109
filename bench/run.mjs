// The VM section of `npm run bench` (bench/main.mjs runs it in the QEMU
// guest, after the real-CPU section): hvsock over vsock loopback against
// node:net over TCP loopback, the node-vsock addon over vsock, and a C
// baseline over both, all in one run on one machine, as tables of medians
// with ratios. Inside the QEMU guest the CPU is emulated, so only the ratios
// mean anything.
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
import { createRequire } from 'node:module';
import { AF_VSOCK, VMADDR_CID_LOCAL, VMADDR_PORT_ANY, encodeSockaddrVm } from 'hvsock';
import { formatFigure, formatRatio, formatTable, spread } from './stats.mjs';
import { forwardBench, printForwardBench } from './forward.mjs';
import { benchSizes, buildBaseline, envNumber, figuresOf, here, idleCountsOf, idleExtras, log, measurementsFor, runJson, runRounds } from './measure.mjs';

const sizes = {
  ...benchSizes({ bulkMiB: 64, roundTrips: 1000, connections: 300, idle: 10000 }, 3),
  idleThreaded: envNumber('HVSOCK_BENCH_IDLE_THREADED', envNumber('HVSOCK_BENCH_IDLE', 10000)),
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

// The guest's descriptor limit (soft 1024, hard 4096) is below 10,000 idle
// connections; as root a shell can raise both, and Node then raises its soft
// limit to the hard one. If it cannot, the measurements hold what fits and say so.
const fdLimit = sizes.idle + 1024;
const measurements = measurementsFor(sizes);

const vsock = hasVsockLoopback();
if (!vsock) {
  log('NO VSOCK LOOPBACK on this kernel (bind to CID 1 failed): vsock rows skipped. Use `npm run bench`, which runs in a QEMU guest.');
}
const baseline = buildBaseline();
const node = (script, ...pre) => (args) => runJson(process.execPath, [here(script), ...pre, ...args.map(String)], fdLimit);
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
  // The bufferSize option's effect on bulk (1 MiB on both ends, vsock's default 256 KiB): bulk rows only.
  ...(vsock
    ? [{ name: 'hvsock 1M buffers', family: 'vsock', measures: ['bulk64k', 'bulk1m'], run: node('node-transport.mjs', 'hvsock-1m') }]
    : []),
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
  ...(vsock ? [{ name: 'C (vsock)', family: 'vsock', run: (args) => runJson(baseline, ['vsock', ...args.map(String)], fdLimit) }] : []),
  { name: 'C (TCP)', family: 'tcp', run: (args) => runJson(baseline, ['tcp', ...args.map(String)], fdLimit) },
];

// rounds[transport][measurement] = every round's result object
const { rounds, failures } = runRounds(sizes.repeats, measurements, transports, json ? undefined : log);

// medians[transport][figure key]
const columns = [...measurements, ...idleExtras];
const medians = Object.fromEntries(
  transports.map((t) => [t.name, Object.fromEntries(columns.map((c) => [c.key, spread(figuresOf(rounds[t.name], c))?.median]))]),
);
const idleCounts = idleCountsOf(rounds, transports);

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
