// `hvsock bench <address>`: throughput and round trip against an echo
// service (`hvsock echo` on the other side). Bulk: MiB sent and echoed back
// at once, so both directions are loaded; round trip: 1-byte ping-pong.
import { connect, type Socket } from '../index.js';
import type { ParsedAddress } from '../address/text.js';
import { peerText } from './addresses.js';
import { EXIT_OK } from './exit-codes.js';
import { UsageError } from './usage.js';
import { withWslVmId } from './wsl.js';

export interface BenchOptions {
  mib: number;
  rounds: number;
  json: boolean;
}

export interface BenchResult {
  /** The address as given on the command line. */
  address: string;
  /** The echo service it reached, in the short form: "loopback:5000". */
  peer: string;
  mib: number;
  /** MiB per second in each direction at once. */
  throughputMiBps: number;
  rounds: number;
  roundTripMedianUs: number;
  roundTripP99Us: number;
}

const CHUNK = 64 * 1024;

/** --mib and --rounds: a whole number from 1 to 1000000, or the default; anything else is a usage error. */
export function countOption(text: string | undefined, fallback: number, name: 'mib' | 'rounds'): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < 1 || value > 1_000_000) {
    throw new UsageError(`--${name} must be a whole number from 1 to 1000000, got "${text}"`, 'bench');
  }
  return value;
}

async function open(address: ParsedAddress): Promise<Socket> {
  const target = await withWslVmId(address);
  return new Promise((resolve, reject) => {
    const socket = connect({ ...target, allowHalfOpen: true });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** A progress line redrawn in place, only on a terminal. */
function liveLine(enabled: boolean): (text: string) => void {
  let last = 0;
  return (text) => {
    if (!enabled || Date.now() - last < 100) return;
    last = Date.now();
    process.stderr.write(`\r\x1b[K${text}`);
  };
}

async function bulk(address: ParsedAddress, mib: number, show: (t: string) => void): Promise<{ peer: string; throughput: number }> {
  const socket = await open(address);
  const peer = peerText(socket);
  const total = mib * 1024 * 1024;
  const chunk = Buffer.alloc(CHUNK, 0x5a);
  const started = process.hrtime.bigint();
  let received = 0;
  const echoed = new Promise<void>((resolve, reject) => {
    socket.on('data', (data: Buffer) => {
      received += data.length;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      show(`bulk: ${((received / total) * 100).toFixed(0)}% ${(received / 1048576 / seconds).toFixed(1)} MiB/s`);
    });
    socket.once('end', () => (received === total ? resolve() : reject(new Error(`the echo service at ${peer} returned ${received} of ${total} bytes`))));
    socket.once('error', reject);
  });
  for (let sent = 0; sent < total; sent += CHUNK) {
    if (!socket.write(sent + CHUNK <= total ? chunk : chunk.subarray(0, total - sent))) {
      await new Promise<void>((resolve) => socket.once('drain', resolve));
    }
  }
  socket.end();
  await echoed;
  socket.destroy();
  return { peer, throughput: mib / (Number(process.hrtime.bigint() - started) / 1e9) };
}

async function pingPong(address: ParsedAddress, rounds: number, show: (t: string) => void): Promise<number[]> {
  const socket = await open(address);
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = process.hrtime.bigint();
    const reply = new Promise((resolve, reject) => {
      socket.once('data', resolve);
      socket.once('error', reject);
    });
    socket.write('x');
    await reply;
    socket.removeAllListeners('error');
    times.push(Number(process.hrtime.bigint() - t0) / 1e3);
    show(`round trip: ${i + 1}/${rounds}`);
  }
  socket.destroy();
  return times.sort((a, b) => a - b);
}

/** `text`: the address as typed, for --json; `address`: it parsed. */
export async function runBench(text: string, address: ParsedAddress, options: BenchOptions, out: (text: string) => void): Promise<number> {
  const live = process.stderr.isTTY === true && !options.json;
  const show = liveLine(live);
  let peer: string;
  let throughput: number;
  let times: number[];
  try {
    ({ peer, throughput } = await bulk(address, options.mib, show));
    times = await pingPong(address, options.rounds, show);
  } finally {
    // Off the progress line, so that a result or an error starts a line of its own.
    if (live) process.stderr.write('\r\x1b[K');
  }
  const result: BenchResult = {
    address: text,
    peer,
    mib: options.mib,
    throughputMiBps: Number(throughput.toFixed(1)),
    rounds: options.rounds,
    roundTripMedianUs: Number((times[Math.floor(times.length / 2)] ?? 0).toFixed(1)),
    roundTripP99Us: Number((times[Math.min(times.length - 1, Math.floor(times.length * 0.99))] ?? 0).toFixed(1)),
  };
  out(
    options.json
      ? JSON.stringify(result)
      : `${peer}: ${result.throughputMiBps} MiB/s each way (${options.mib} MiB echoed), round trip median ${result.roundTripMedianUs} µs, p99 ${result.roundTripP99Us} µs (${options.rounds} rounds)`,
  );
  return EXIT_OK;
}
