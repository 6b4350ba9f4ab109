// What bench/run.mjs (in the QEMU guest) and bench/real-cpu.mjs (on the bare
// machine) share: the sizes read from the environment, the measurements and
// the figure each reads back, the C baseline's build, running one measurement
// in its own processes, and the interleaved rounds with their medians.
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { interleavedSchedule } from './stats.mjs';

export const here = (name) => fileURLToPath(new URL(name, import.meta.url));
export const envNumber = (name, fallback) => Number(process.env[name] ?? fallback);
export const log = (line) => process.stderr.write(`bench: ${line}\n`);

/** The sizes of one section: the environment's, else the section's defaults; at least `minRepeats` rounds. */
export function benchSizes(defaults, minRepeats) {
  return {
    bulkMiB: envNumber('HVSOCK_BENCH_MB', defaults.bulkMiB),
    roundTrips: envNumber('HVSOCK_BENCH_ROUNDS', defaults.roundTrips),
    connections: envNumber('HVSOCK_BENCH_CONNS', defaults.connections),
    idle: envNumber('HVSOCK_BENCH_IDLE', defaults.idle),
    repeats: Math.max(minRepeats, envNumber('HVSOCK_BENCH_REPEATS', minRepeats)),
  };
}

export function buildBaseline() {
  // The guest's root is read-only: build into the temp dir.
  const binary = join(tmpdir(), `hvsock-bench-baseline-${process.pid}`);
  execFileSync('cc', ['-O2', '-o', binary, here('baseline.c')], { stdio: 'inherit' });
  return binary;
}

/**
 * Runs one measurement under a descriptor limit of `fdLimit` (a shell raises
 * it where it may); its result is the last JSON line it prints (node-vsock's
 * lines carry a prefix).
 */
export function runJson(command, args, fdLimit) {
  const out = execFileSync('sh', ['-c', `ulimit -n ${fdLimit} 2>/dev/null; exec "$@"`, 'sh', command, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 300_000,
  });
  return lastJson(out, `${command} ${args.join(' ')}`);
}

/** The last JSON line of a measurement's output. */
export function lastJson(out, what) {
  const last = out
    .trim()
    .split('\n')
    .map((l) => l.replace(/^bench: /, ''))
    .filter((l) => l.startsWith('{'))
    .pop();
  if (last === undefined) throw new Error(`no result from ${what}`);
  return JSON.parse(last);
}

const KiB64 = 64 * 1024;
const MiB = 1024 * 1024;
/** What each measurement passes to a transport's script and which figure it reads back. */
export function measurementsFor(sizes) {
  return [
    { key: 'bulk64k', label: '64K writes MiB/s', args: ['bulk', sizes.bulkMiB, KiB64], figure: 'mibPerSec', higherIsBetter: true, digits: 1 },
    { key: 'bulk1m', label: '1M writes MiB/s', args: ['bulk', sizes.bulkMiB, MiB], figure: 'mibPerSec', higherIsBetter: true, digits: 1 },
    { key: 'roundTrip', label: 'round trip µs', args: ['pingpong', sizes.roundTrips], figure: 'usPerRoundTrip', higherIsBetter: false, digits: 1 },
    { key: 'connect', label: 'conns/s', args: ['connect', sizes.connections], figure: 'connPerSec', higherIsBetter: true, digits: 0 },
    { key: 'idle', label: 'idle RSS MiB', args: ['idle', sizes.idle], figure: 'idleRssMiB', higherIsBetter: false, digits: 1 },
  ];
}

/** Figures that come with the idle measurement, shown in the tables next to it. */
export const idleExtras = [
  { key: 'idlePerConnection', label: 'idle KiB/conn', figure: 'idleKiBPerConnection', higherIsBetter: false, digits: 2, from: 'idle' },
  { key: 'idleServer', label: 'idle server MiB', figure: 'idleServerRssMiB', higherIsBetter: false, digits: 1, from: 'idle' },
];

/**
 * Every measurement with every transport (those a transport's `measures`
 * lists, if it has one), `repeats` times, in interleaved rounds. Returns rounds[transport][measurement] (every round's result
 * object, `{}` for a round that failed, so that index i is round i + 1 for
 * every transport) and the failures.
 */
export function runRounds(repeats, measurements, transports, progress) {
  const rounds = Object.fromEntries(transports.map((t) => [t.name, Object.fromEntries(measurements.map((m) => [m.key, []]))]));
  const failures = [];
  const started = performance.now();
  for (const { round, measurement, transport } of interleavedSchedule(repeats, measurements, transports)) {
    // A transport may take part in some measurements only (`measures`: their keys).
    if (transport.measures !== undefined && !transport.measures.includes(measurement.key)) continue;
    try {
      rounds[transport.name][measurement.key].push(transport.run(measurement.args));
    } catch (e) {
      const why = String(e.message).split('\n')[0];
      rounds[transport.name][measurement.key].push({});
      failures.push({ round, measurement: measurement.key, transport: transport.name, error: why });
      log(`round ${round}: ${transport.name} ${measurement.key} FAILED: ${why}`);
    }
    if (transport === transports.at(-1)) progress?.(`round ${round}: ${measurement.key} done (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  }
  return { rounds, failures };
}

/** One figure of every round of a column (a measurement, or an extra figure of one), missing ones as undefined. */
export const figuresOf = (rounds, column) => rounds[column.from ?? column.key].map((r) => r[column.figure]);

/** How many idle connections each transport held (the first round that says). */
export function idleCountsOf(rounds, transports) {
  return Object.fromEntries(transports.map((t) => [t.name, rounds[t.name].idle.find((r) => r.idleConnections !== undefined)?.idleConnections]));
}
