// The `redial` connect option against a real kernel: vsock loopback refuses a
// port nobody listens on, and a CID whose device never runs (silent-peer.ts)
// lets connects time out. One Socket through many attempts, each on a fresh
// descriptor; the server appearing late; the time running out; abort and
// destroy during a wait and during an attempt; an error no retry cures; and
// `hvsock connect --wait`.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { connect, createServer, type RedialEvent, type Server, type Socket } from '../../src/index.js';
import { LOOPBACK, nextError, openFdCount, readAll, track } from './helpers.js';
import { useSilentPeer } from './silent-peer.js';

const CLI = join(__dirname, '..', '..', 'dist', 'cjs', 'cli', 'main.js');
const FIXTURES = join(__dirname, 'fixtures');
/** Timers may fire a tick early relative to performance.now(); lower bounds allow for that. */
const SLACK_MS = 50;
/** A port for one test; vsock loopback in the guest carries only this suite. */
const randomPort = (): number => 20_000 + Math.floor(Math.random() * 1_000_000);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves once `condition()` holds; the ceiling bounds a hang, it is no expectation of speed. */
async function until(condition: () => boolean, what: string, ceilingMs = 60_000): Promise<void> {
  const deadline = Date.now() + ceilingMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`still waiting after ${ceilingMs} ms: ${what}`);
    await sleep(10);
  }
}

/** A server on `port`, closed after the test (setup.ts) with whatever it accepted. */
async function listenOn(port: number, onConnection: (socket: Socket) => void = () => {}): Promise<{ server: Server; accepted: Socket[] }> {
  const accepted: Socket[] = [];
  const server = track(
    createServer((socket) => {
      accepted.push(socket);
      onConnection(socket);
    }),
  );
  server.listen({ port });
  await once(server, 'listening');
  server.once('close', () => accepted.forEach((s) => s.destroy()));
  return { server, accepted };
}

/** What a socket emits, for assertions on what happened and what did not. */
function record(socket: Socket) {
  const log = { connects: 0, errors: [] as NodeJS.ErrnoException[], redials: [] as RedialEvent[], closed: null as boolean | null };
  socket.on('connect', () => log.connects++);
  socket.on('error', (error: NodeJS.ErrnoException) => log.errors.push(error));
  socket.on('redial', (event) => log.redials.push(event));
  socket.on('close', (hadError: boolean) => (log.closed = hadError));
  return log;
}

function expectRefusals(redials: RedialEvent[], port: number): void {
  expect(redials.map((r) => r.attempt)).toEqual(redials.map((_, i) => i + 1));
  for (const { error, delay } of redials) {
    expect(error).toMatchObject({ code: 'ECONNREFUSED', errno: -111, syscall: 'connect', cid: LOOPBACK, port });
    expect(delay).toBeGreaterThan(0);
  }
}

describe('redial over vsock loopback', () => {
  it('connects once the server starts listening; data written during the waits arrives', async () => {
    const port = randomPort();
    const client = connect({ cid: LOOPBACK, port, redial: { timeout: 60_000, initialDelay: 20, maxDelay: 200 } });
    const log = record(client);
    let remote: unknown;
    client.once('connect', () => (remote = client.remoteHvAddress));
    client.write('written early, ');
    await until(() => log.redials.length >= 3, 'three refused attempts');
    expect(client.connecting).toBe(true);
    expect(client.readyState).toBe('opening');
    await listenOn(port, (socket) => socket.pipe(socket));
    const echoed = readAll(client);
    client.end('and late');
    expect((await echoed).toString()).toBe('written early, and late');
    expect(log.connects).toBe(1);
    expect(log.errors).toEqual([]);
    // end() came before the connection: the shutdown runs as it opens, and
    // Linux refuses getpeername after a shutdown, yet the address stays.
    expect(remote).toMatchObject({ cid: LOOPBACK, port });
    expect(client.remoteHvAddress).toMatchObject({ cid: LOOPBACK, port });
    expectRefusals(log.redials, port);
  });

  it('gives up when the time is up: one ECONNREFUSED with node:net fields and the attempt count', async () => {
    const port = randomPort();
    const started = performance.now();
    const client = connect({ cid: LOOPBACK, port, redial: { timeout: 600, initialDelay: 20, maxDelay: 100 } });
    const log = record(client);
    const error = (await nextError(client)) as NodeJS.ErrnoException & { attempts?: number };
    const elapsed = performance.now() - started;
    await until(() => log.closed !== null, "'close'");
    expect(error).toMatchObject({ code: 'ECONNREFUSED', errno: -111, syscall: 'connect', cid: LOOPBACK, port });
    expect(error.message).toBe(`connect ECONNREFUSED loopback:${port}`);
    expect(error.attempts).toBe(log.redials.length + 1);
    expect(error.attempts).toBeGreaterThanOrEqual(3);
    expectRefusals(log.redials, port);
    // The last attempt is made at the deadline, not before.
    expect(elapsed).toBeGreaterThanOrEqual(600 - SLACK_MS);
    expect(log.closed).toBe(true);
    expect(log.errors).toHaveLength(1);
    expect(log.connects).toBe(0);
  });

  it('abort during the wait: an AbortError at once, no further attempt, every descriptor back', async () => {
    const port = randomPort();
    const fds = openFdCount();
    const controller = new AbortController();
    const client = connect({ cid: LOOPBACK, port, redial: { timeout: 60_000, initialDelay: 300 }, signal: controller.signal });
    const log = record(client);
    await once(client, 'redial');
    await new Promise((resolve) => setImmediate(resolve)); // inside the 300 ms wait
    const failed = nextError(client);
    controller.abort(new Error('operator gave up'));
    const error = await failed;
    expect(error).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
    expect((error.cause as Error).message).toBe('operator gave up');
    await until(() => log.closed !== null, "'close'");
    expect(log.closed).toBe(true);
    await until(() => openFdCount() <= fds, 'the attempts’ descriptors to be closed');
    const { accepted } = await listenOn(port);
    await sleep(1000); // well past the wait that was cut short
    expect(accepted).toHaveLength(0);
    expect(log.redials).toHaveLength(1);
    expect(log.connects).toBe(0);
  });

  it('destroy() during the wait closes quietly, with no further attempt and every descriptor back', async () => {
    const port = randomPort();
    const fds = openFdCount();
    const client = connect({ cid: LOOPBACK, port, redial: { timeout: 60_000, initialDelay: 300 } });
    const log = record(client);
    await once(client, 'redial');
    client.destroy();
    await until(() => log.closed !== null, "'close'");
    expect(log.closed).toBe(false);
    expect(log.errors).toEqual([]);
    await until(() => openFdCount() <= fds, 'the attempts’ descriptors to be closed');
    const { accepted } = await listenOn(port);
    await sleep(1000);
    expect(accepted).toHaveLength(0);
    expect(log.connects).toBe(0);
  });

  it('dozens of attempts leave no descriptor behind', async () => {
    const fds = openFdCount();
    const client = connect({ cid: LOOPBACK, port: randomPort(), redial: { timeout: 800, initialDelay: 5, maxDelay: 10 } });
    const log = record(client);
    await until(() => log.closed !== null, "'close'");
    expect(log.redials.length).toBeGreaterThanOrEqual(10);
    await until(() => openFdCount() <= fds, 'the attempts’ descriptors to be closed');
  });

  it('an error no retry cures (EMFILE from socket()) fails at once, after one attempt', async () => {
    const port = randomPort();
    const child = spawn('sh', ['-c', `ulimit -n 64 && exec "${process.execPath}" "${join(FIXTURES, 'redial-emfile.cjs')}" ${port}`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += String(chunk)));
    // Were EMFILE retried, the child would redial for 60 s: the test's
    // ceiling ends it first, and the output shows the redials.
    const exited = once(child, 'exit');
    await Promise.race([until(() => output.includes('\n'), 'the child’s report', 45_000), exited]);
    child.kill();
    const report = JSON.parse(output.trim()) as { code: string; syscall: string; attempts: number; redials: string[]; held: number };
    expect(report.held).toBeGreaterThan(0);
    expect(report).toMatchObject({ code: 'EMFILE', syscall: 'socket', attempts: 1, redials: [] });
  });

  it('hvsock connect --wait retries until the service starts, then bridges stdin and stdout', async () => {
    const port = randomPort();
    const child = spawn(process.execPath, [CLI, 'connect', '--wait', '60', `loopback:${port}`], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += String(chunk)));
    child.stderr.on('data', (chunk) => (stderr += String(chunk)));
    const exited = once(child, 'exit').then(([code]) => code as number | null);
    child.stdin.end('hello from before the server');
    await until(() => stderr.includes('retrying'), 'the first refusal to be reported');
    expect(stderr).toBe(`hvsock connect: connect ECONNREFUSED loopback:${port}; retrying for up to 60 s\n`);
    await listenOn(port, (socket) => socket.pipe(socket));
    expect(await exited).toBe(0);
    expect(stdout).toBe('hello from before the server');
  });

  it('hvsock connect --wait gives up with exit 1 and the refusal on stderr', async () => {
    const port = randomPort();
    const child = spawn(process.execPath, [CLI, 'connect', '--wait', '0.5', `${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += String(chunk)));
    const [code] = await once(child, 'close'); // 'close': stderr read to its end
    expect(code).toBe(1);
    // The retry notice, once, if the first refusal came within the half second; then the refusal.
    expect(stderr).toMatch(new RegExp(`^(hvsock connect: connect ECONNREFUSED loopback:${port}; retrying for up to 0\\.5 s\\n)?hvsock connect: connect ECONNREFUSED loopback:${port}\\n$`));
  });
});

// Timed-out attempts, from a CID whose device never runs: real ETIMEDOUTs
// from the kernel, each attempt bounded by the connectTimeout option.
const SILENT_CID = 4243;
const SILENT_PORT = 5000;

describe('redial against a peer that never answers', () => {
  useSilentPeer(SILENT_CID);

  it('redials timed-out attempts, each bounded by connectTimeout on its fresh socket', async () => {
    const started = performance.now();
    const client = connect({ cid: SILENT_CID, port: SILENT_PORT, connectTimeout: 300, redial: { timeout: 2000, initialDelay: 50 } });
    const log = record(client);
    const error = (await nextError(client)) as NodeJS.ErrnoException & { attempts?: number };
    const elapsed = performance.now() - started;
    expect(error).toMatchObject({ code: 'ETIMEDOUT', errno: -110, syscall: 'connect', cid: SILENT_CID, port: SILENT_PORT });
    expect(error.attempts).toBe(log.redials.length + 1);
    // With the kernel's 2 s default instead of 300 ms on each new socket, the
    // second attempt would run past the 2 s redial deadline: two at most.
    expect(error.attempts).toBeGreaterThanOrEqual(3);
    for (const { error: e } of log.redials) expect(e).toMatchObject({ code: 'ETIMEDOUT', syscall: 'connect' });
    expect(elapsed).toBeGreaterThanOrEqual(2000 - SLACK_MS);
    expect(elapsed).toBeGreaterThanOrEqual((error.attempts as number) * 300 - SLACK_MS);
  });

  it('abort during an attempt: an AbortError at once and the descriptor back', async () => {
    const fds = openFdCount();
    const controller = new AbortController();
    const client = connect({
      cid: SILENT_CID,
      port: SILENT_PORT,
      connectTimeout: 2500,
      redial: 60_000,
      signal: controller.signal,
    });
    const log = record(client);
    await sleep(200);
    expect(client.connecting).toBe(true);
    expect(log.redials).toHaveLength(0); // still in the first attempt
    const failed = nextError(client);
    controller.abort();
    expect(await failed).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
    await until(() => log.closed !== null, "'close'");
    await until(() => openFdCount() <= fds, 'the attempt’s descriptor to be closed');
    expect(log.redials).toHaveLength(0);
    expect(log.connects).toBe(0);
  });
});
