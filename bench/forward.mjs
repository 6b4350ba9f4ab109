// The forwarder benchmark (issue 18): the same forward done by
// `hvsock forward` and by socat, in one run, between the same two C ends
// (bench/forward-peer.c), so the forwarder in the middle is what differs:
//
//   client --vsock--> [hvsock forward --allow loopback any:P tcp:127.0.0.1:S] --tcp--> server
//   client --vsock--> [socat VSOCK-LISTEN:P,fork,reuseaddr TCP:127.0.0.1:S]    --tcp--> server
//
// Measured in interleaved rounds (round 1 runs both, round 2 both again with
// the order turned round, ...), shown as medians with the spread of the rounds:
// bulk throughput, one-byte round trips, and the memory of each forwarder
// holding HVSOCK_BENCH_FORWARD_HOLD (1000) connections at once (hvsock: the
// one process's VmRSS; socat forks a process per connection: the sum of
// their proportional set sizes).
// Run alone (node bench/forward.mjs [--json]) or from bench/run.mjs; in the
// QEMU guest only (it connects over vsock).
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { formatFigure, formatSpread, formatTable, spread } from './stats.mjs';

const here = (name) => fileURLToPath(new URL(name, import.meta.url));
const CLI = here('../dist/cjs/cli/main.js');
const vsockPort = () => 20000 + Math.floor(Math.random() * 1_000_000);

function hasSocat() {
  try {
    execFileSync('socat', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Lines of a child's stream, as an async iterator that never ends early. */
function lines(stream) {
  return createInterface({ input: stream })[Symbol.asyncIterator]();
}

async function until(iterator, test, what) {
  for (;;) {
    const { value, done } = await iterator.next();
    if (done) throw new Error(`${what}: ended before it was ready`);
    if (test(value)) return value;
  }
}

function kib(pid, field) {
  try {
    const text = readFileSync(`/proc/${pid}/${field === 'Pss' ? 'smaps_rollup' : 'status'}`, 'utf8');
    return Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text)?.[1] ?? 0);
  } catch {
    return 0; // gone
  }
}

/** A process and every descendant of it (socat's forks). */
function family(root) {
  const parents = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parents.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone
    }
  }
  const all = [root];
  for (let i = 0; i < all.length; i++) for (const [pid, ppid] of parents) if (ppid === all[i]) all.push(pid);
  return all;
}

/**
 * Runs the benchmark; resolves with { sizes, rounds, medians, spread, memory }.
 * `log` hears progress.
 */
export async function forwardBench({ bulkMiB = 64, roundTrips = 1000, hold = 1000, repeats = 5, log = () => {} } = {}) {
  const peer = join(tmpdir(), `hvsock-forward-peer-${process.pid}`);
  execFileSync('cc', ['-O2', '-o', peer, here('forward-peer.c')], { stdio: 'inherit' });
  const children = [];
  const start = (command, args) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(child);
    return child;
  };
  try {
    const server = start(peer, ['serve']);
    server.stderr.pipe(process.stderr);
    const sink = Number((await lines(server.stdout).next()).value);

    const forwarders = [];
    const hvPort = vsockPort();
    // The forwarder as a user runs it; --max-connections above the held count (its default is 256).
    const hv = start(process.execPath, [CLI, 'forward', '--json', '--allow', 'loopback', '--max-connections', String(hold + 100), `any:${hvPort}`, `tcp:127.0.0.1:${sink}`]);
    hv.stderr.pipe(process.stderr);
    await until(lines(hv.stdout), (line) => JSON.parse(line).event === 'ready', 'hvsock forward');
    forwarders.push({ name: 'hvsock forward', port: hvPort, process: hv, idleKiB: kib(hv.pid, 'VmRSS') });

    if (hasSocat()) {
      const socatPort = vsockPort();
      // -d -d: socat says when it listens (nothing else would), and notices per connection, which go nowhere.
      // backlog=511 as Node's listen() (socat's own is 5): a vsock connect to a full backlog is reset, not queued.
      const socat = start('socat', ['-d', '-d', `VSOCK-LISTEN:${socatPort},fork,reuseaddr,backlog=511`, `TCP:127.0.0.1:${sink}`]);
      const said = lines(socat.stderr);
      await until(said, (line) => line.includes('listening on'), 'socat');
      void (async () => {
        for await (const _ of said);
      })();
      forwarders.push({ name: 'socat', port: socatPort, process: socat, idleKiB: kib(socat.pid, 'Pss') });
    } else {
      log('socat is not installed: the forwarder benchmark runs hvsock forward alone (test/vm/provision.mjs installs socat)');
    }

    const client = (args) => {
      const out = execFileSync(peer, args.map(String), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 300_000 });
      return JSON.parse(out.trim().split('\n').pop());
    };
    const rounds = Object.fromEntries(forwarders.map((f) => [f.name, { bulk: [], roundTrip: [] }]));
    for (let round = 1; round <= repeats; round++) {
      const order = round % 2 === 1 ? forwarders : [...forwarders].reverse();
      for (const f of order) rounds[f.name].bulk.push(client(['bulk', 'vsock', f.port, bulkMiB, 64 * 1024]).mibPerSec);
      for (const f of order) rounds[f.name].roundTrip.push(client(['pingpong', 'vsock', f.port, roundTrips]).usPerRoundTrip);
      log(`forward round ${round} of ${repeats} done`);
    }

    // Memory with `hold` connections open at once through each forwarder.
    const memory = {};
    for (const f of forwarders) {
      const before = f.name === 'socat' ? family(f.process.pid).reduce((n, pid) => n + kib(pid, 'Pss'), 0) : kib(f.process.pid, 'VmRSS');
      const holder = start(peer, ['hold', 'vsock', f.port, hold]);
      holder.stderr.pipe(process.stderr);
      const said = (await lines(holder.stdout).next()).value;
      if (said === undefined) {
        memory[f.name] = { failed: `the client could not hold ${hold} connections through it (its error is above)` };
        log(`forward: ${f.name} could not hold ${hold} connections`);
        continue;
      }
      const held = JSON.parse(said);
      const pids = f.name === 'socat' ? family(f.process.pid) : [f.process.pid];
      const at = pids.reduce((n, pid) => n + kib(pid, f.name === 'socat' ? 'Pss' : 'VmRSS'), 0);
      memory[f.name] = {
        connections: held.held,
        openSeconds: held.seconds,
        processes: pids.length,
        measure: f.name === 'socat' ? 'Pss' : 'VmRSS',
        idleStartMiB: f.idleKiB / 1024,
        beforeMiB: before / 1024,
        heldMiB: at / 1024,
        growthMiB: (at - before) / 1024,
        kibPerConnection: (at - before) / held.held,
      };
      holder.stdin.end();
      await once(holder, 'exit');
      log(`forward: ${f.name} held ${held.held} connections`);
    }

    const medians = Object.fromEntries(forwarders.map((f) => [f.name, { bulk: spread(rounds[f.name].bulk), roundTrip: spread(rounds[f.name].roundTrip) }]));
    return { sizes: { bulkMiB, roundTrips, hold, repeats }, rounds, medians, memory };
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
    await Promise.all(children.map((child) => (child.exitCode === null && child.signalCode === null ? once(child, 'exit') : null)));
  }
}

/** The result as a table, with hvsock's ratios to socat and the issue's targets beside them. */
export function printForwardBench(result) {
  const { sizes, medians, memory } = result;
  const names = Object.keys(medians);
  console.log(
    `\nforwarder: vsock client -> forwarder -> TCP server (C ends, bench/forward-peer.c); medians of ${sizes.repeats} interleaved rounds (min-max); ` +
      `bulk ${sizes.bulkMiB} MiB in 64 KiB writes, ${sizes.roundTrips} one-byte round trips, ${sizes.hold} connections held`,
  );
  const rows = [['forwarder', 'bulk MiB/s', 'round trip µs', 'memory idle MiB', `memory, ${sizes.hold} held MiB`, 'KiB/conn']];
  for (const name of names) {
    const m = memory[name]?.failed === undefined ? memory[name] : undefined;
    rows.push([
      name,
      formatSpread(medians[name].bulk, 1),
      formatSpread(medians[name].roundTrip, 1),
      m === undefined ? '-' : formatFigure(m.beforeMiB, 1),
      m === undefined ? '-' : `${formatFigure(m.heldMiB, 1)} (+${formatFigure(m.growthMiB, 1)})${m.processes > 1 ? ` in ${m.processes} processes (Pss)` : ''}`,
      m === undefined ? '-' : formatFigure(m.kibPerConnection, 1),
    ]);
  }
  for (const line of formatTable(rows)) console.log(line);
  const hv = medians['hvsock forward'];
  const socat = medians.socat;
  if (hv !== undefined && socat !== undefined) {
    const throughput = hv.bulk.median / socat.bulk.median;
    const rtt = hv.roundTrip.median / socat.roundTrip.median;
    console.log(
      `hvsock forward / socat: throughput ${throughput.toFixed(2)}x (target >= 1.0), round trip ${rtt.toFixed(2)}x (target <= 1.1)`,
    );
  }
  for (const name of names) if (memory[name]?.failed !== undefined) console.log(`${name}: ${memory[name].failed}`);
  const held = memory['hvsock forward'];
  if (held !== undefined && held.failed === undefined) {
    console.log(`hvsock forward holding ${held.connections} connections: ${formatFigure(held.heldMiB, 1)} MiB RSS, +${formatFigure(held.growthMiB, 1)} MiB over its RSS before them (target: within 64 MiB)`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const envNumber = (name, fallback) => Number(process.env[name] ?? fallback);
  const result = await forwardBench({
    bulkMiB: envNumber('HVSOCK_BENCH_MB', 64),
    roundTrips: envNumber('HVSOCK_BENCH_ROUNDS', 1000),
    hold: envNumber('HVSOCK_BENCH_FORWARD_HOLD', 1000),
    repeats: Math.max(3, envNumber('HVSOCK_BENCH_FORWARD_REPEATS', 5)),
    log: (line) => process.stderr.write(`bench: ${line}\n`),
  });
  if (process.argv.includes('--json')) console.log(JSON.stringify(result, null, 2));
  else printForwardBench(result);
}
