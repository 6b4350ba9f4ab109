// The real-CPU section of `npm run bench` (bench/main.mjs runs it first, on
// the bare machine, before the VM section): no VM and no vsock at all, only
// TCP loopback (127.0.0.1). hvsock's engine, Socket and Server over the
// internal loopback-TCP transport ("hvsock (TCP)", the same code path as over
// vsock but for the address mapping) against node:net over TCP and the C
// baseline (bench/baseline.c) over TCP, each measurement with a client and a
// server process. On a real CPU the engine's own cost shows, where the QEMU
// guest's emulated CPU drowns it in noise.
// Medians of HVSOCK_BENCH_REPEATS (at least 5) interleaved rounds, each with
// the smallest and largest round beside it; each ratio is the median of the
// rounds' own ratios (both figures from the same round, so the same phase of
// a shared machine), with the smallest and largest beside it, so the noise
// shows.
//   HVSOCK_BENCH_MB (512), HVSOCK_BENCH_ROUNDS (10000), HVSOCK_BENCH_CONNS (2000),
//   HVSOCK_BENCH_IDLE (10000), HVSOCK_BENCH_REPEATS (5): as in bench/run.mjs,
//   larger by default, as a real CPU gets through them far faster
//   --json: the figures of every round as JSON
// Run alone: node bench/real-cpu.mjs (after npm run compile).
import { fileURLToPath } from 'node:url';
import { formatSpread, formatTable, roundRatios, spread } from './stats.mjs';
import { benchSizes, buildBaseline, figuresOf, here, idleCountsOf, idleExtras, log, measurementsFor, runJson, runRounds } from './measure.mjs';

export const REAL_CPU_DEFAULTS = { bulkMiB: 512, roundTrips: 10000, connections: 2000, idle: 10000 };

/**
 * Runs one section: every measurement with every transport in interleaved
 * rounds. `transports` are { name, run(args) }; `ratios` are
 * { label, name, reference } (transport names), each a column of the table.
 */
export function runSection({ title, sizes, transports, ratios, json = false }) {
  const measurements = measurementsFor(sizes);
  const { rounds, failures } = runRounds(sizes.repeats, measurements, transports, json ? undefined : log);
  const columns = [...measurements, ...idleExtras];
  const figures = (name, column) => figuresOf(rounds[name], column);
  const rows = columns.map((column) => {
    const cells = Object.fromEntries(transports.map((t) => [t.name, spread(figures(t.name, column))]));
    const quotients = ratios.map(({ name, reference }) => spread(roundRatios(figures(name, column), figures(reference, column), column.higherIsBetter)));
    return { column, cells, quotients };
  });
  const idleCounts = idleCountsOf(rounds, transports);
  return { title, sizes, transports: transports.map((t) => t.name), ratios, rows, idleCounts, rounds, failures };
}

/** The section as one table: a row per figure, a column per transport and per ratio. */
export function printSection(result) {
  const { title, sizes, transports, ratios, rows, idleCounts, failures } = result;
  console.log(`\n${title}`);
  console.log(
    `medians of ${sizes.repeats} interleaved rounds (min-max of the rounds); ratios: median (min-max) of each round's own ratio, ` +
      'above 1: better than the reference. ' +
      `bulk ${sizes.bulkMiB} MiB, ${sizes.roundTrips} round trips, ${sizes.connections} connections, idle connections: ` +
      transports.map((name) => `${name} ${idleCounts[name] ?? '-'}`).join(', '),
  );
  const header = ['figure', ...transports, ...ratios.map((r) => r.label)];
  const table = rows.map(({ column, cells, quotients }) => [
    column.label,
    ...transports.map((name) => formatSpread(cells[name], column.digits)),
    ...quotients.map((q) => formatSpread(q, 2, 'x')),
  ]);
  for (const line of formatTable([header, ...table])) console.log(line);
  for (const f of failures) console.log(`FAILED: round ${f.round}, ${f.transport}, ${f.measurement}: ${f.error}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const sizes = benchSizes(REAL_CPU_DEFAULTS, 5);
  const fdLimit = sizes.idle + 1024;
  const baseline = buildBaseline();
  const node = (transport) => (args) => runJson(process.execPath, [here('node-transport.mjs'), transport, ...args.map(String)], fdLimit);
  const json = process.argv.includes('--json');
  const result = runSection({
    title: 'On the real CPU: TCP loopback, no VM, no vsock',
    sizes,
    transports: [
      { name: 'hvsock (TCP)', run: node('hvsock-tcp') },
      { name: 'node:net (TCP)', run: node('net') },
      { name: 'C (TCP)', run: (args) => runJson(baseline, ['tcp', ...args.map(String)], fdLimit) },
    ],
    ratios: [
      { label: 'hvsock ÷ node:net', name: 'hvsock (TCP)', reference: 'node:net (TCP)' },
      { label: 'hvsock ÷ C', name: 'hvsock (TCP)', reference: 'C (TCP)' },
    ],
    json,
  });
  if (json) console.log(JSON.stringify(result, null, 2));
  else printSection(result);
  process.exitCode = result.failures.length > 0 ? 1 : 0;
}
