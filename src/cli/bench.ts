// `hvsock bench <address>`: throughput and round trip against an echo
// service (`hvsock echo` on the other side). Bulk: MiB sent and echoed back
// at once, so both directions are loaded; round trip: 1-byte ping-pong.
import { connect, type Socket } from '../index.js';
import { parseAddress } from '../address/text.js';
import { EXIT_OK } from './exit-codes.js';
import { withWslVmId } from './wsl.js';

export interface BenchOptions {
  mib: number;
  rounds: number;
  json: boolean;
}

export interface BenchResult {
  address: string;
  mib: number;
  /** MiB per second in each direction at once. */
  throughputMiBps: number;
  rounds: number;
  roundTripMedianUs: number;
  roundTripP99Us: number;
}

const CHUNK = 64 * 1024;

async function open(address: string): Promise<Socket> {
  const target = await withWslVmId(parseAddress(address, 'address'));
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

async function bulk(address: string, mib: number, show: (t: string) => void): Promise<number> {
  const socket = await open(address);
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
    socket.once('end', () => (received === total ? resolve() : reject(new Error(`echo returned ${received} of ${total} bytes`))));
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
  return mib / (Number(process.hrtime.bigint() - started) / 1e9);
}

async function pingPong(address: string, rounds: number, show: (t: string) => void): Promise<number[]> {
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

export async function runBench(address: string, options: BenchOptions, out: (text: string) => void): Promise<number> {
  const show = liveLine(process.stderr.isTTY === true && !options.json);
  const throughput = await bulk(address, options.mib, show);
  const times = await pingPong(address, options.rounds, show);
  if (process.stderr.isTTY && !options.json) process.stderr.write('\r\x1b[K');
  const result: BenchResult = {
    address,
    mib: options.mib,
    throughputMiBps: Number(throughput.toFixed(1)),
    rounds: options.rounds,
    roundTripMedianUs: Number((times[Math.floor(times.length / 2)] ?? 0).toFixed(1)),
    roundTripP99Us: Number((times[Math.min(times.length - 1, Math.floor(times.length * 0.99))] ?? 0).toFixed(1)),
  };
  out(
    options.json
      ? JSON.stringify(result)
      : `${address}: ${result.throughputMiBps} MiB/s each way (${options.mib} MiB echoed), round trip median ${result.roundTripMedianUs} µs, p99 ${result.roundTripP99Us} µs (${options.rounds} rounds)`,
  );
  return EXIT_OK;
}
