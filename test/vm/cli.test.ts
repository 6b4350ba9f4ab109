// The hvsock command end to end over real vsock (CID 1 in the guest): a file
// bridged both ways through listen/connect, the echo service, doctor, and the
// exit code of a refused connect. (The examples: examples.test.ts.)
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connect } from '../../src/index.js';
import { LOOPBACK, readAll } from './helpers.js';

const CLI = join(__dirname, '..', '..', 'dist', 'cjs', 'cli', 'main.js');
const port = (): number => 20000 + Math.floor(Math.random() * 1_000_000);

interface Run {
  child: ChildProcess;
  /** The exit code, listened for from the start: a child may end before anyone awaits it. */
  exited: Promise<number | null>;
}

function hvsock(args: string[], stdin: number | 'ignore' = 'ignore', stdout: number | 'pipe' = 'pipe'): Run {
  return node([CLI, ...args], stdin, stdout);
}

function node(args: string[], stdin: number | 'ignore' = 'ignore', stdout: number | 'pipe' = 'pipe'): Run {
  const child = spawn(process.execPath, args, { stdio: [stdin, stdout, 'pipe'] });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return { child, exited };
}

/** Everything a child's stream delivers until it ends. */
function collect(stream: NodeJS.ReadableStream | null): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    stream?.on('data', (chunk) => (text += String(chunk)));
    stream?.once('end', () => resolve(text));
  });
}

/**
 * Resolves when the child says on stderr that it listens (and keeps draining
 * stderr), with all it says on stderr until that ends.
 */
function listening({ child }: Run): Promise<{ stderr: Promise<string> }> {
  const stderr = collect(child.stderr);
  return new Promise((resolve, reject) => {
    let text = '';
    child.stderr?.on('data', (chunk) => {
      text += String(chunk);
      if (text.includes('listening')) resolve({ stderr });
    });
    child.once('exit', () => reject(new Error(`exited before listening: ${text}`)));
  });
}

describe('the hvsock command over vsock', () => {
  it('bridges files both ways through listen and connect, byte for byte', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hvsock-cli-'));
    const big = randomBytes(4 * 1024 * 1024);
    const small = randomBytes(64 * 1024);
    writeFileSync(join(dir, 'big'), big);
    writeFileSync(join(dir, 'small'), small);
    const p = port();
    const server = hvsock(['listen', `any:${p}`], openSync(join(dir, 'small'), 'r'), openSync(join(dir, 'server-got'), 'w'));
    const said = await listening(server);
    const client = hvsock(['connect', `loopback:${p}`], openSync(join(dir, 'big'), 'r'), openSync(join(dir, 'client-got'), 'w'));
    expect(await client.exited).toBe(0);
    expect(await server.exited).toBe(0);
    // Addresses in the short form: the wildcard as any, the peer (CID 1) as loopback.
    expect(await said.stderr).toMatch(new RegExp(`^hvsock listen: listening on any:${p}\nhvsock listen: connection from loopback:\\d+\n$`));
    expect(readFileSync(join(dir, 'server-got')).equals(big)).toBe(true);
    expect(readFileSync(join(dir, 'client-got')).equals(small)).toBe(true);
  });

  it('runs an echo service that reports its address as JSON, serves bench, and stops on SIGTERM', async () => {
    const p = port();
    const echo = hvsock(['echo', '--json', `${p}`]);
    const [line] = await once(echo.child.stdout as NodeJS.ReadableStream, 'data');
    expect(JSON.parse(String(line))).toMatchObject({ listening: { family: 'AF_VSOCK', address: 'any', cid: 0xffffffff, port: p, text: `any:${p}` } });
    const socket = connect({ cid: LOOPBACK, port: p });
    const reply = readAll(socket);
    socket.end('hello, echo');
    expect((await reply).toString()).toBe('hello, echo');
    // bench against that echo service: numbers, not timings, are checked.
    const bench = hvsock(['bench', '--json', '--mib', '8', '--rounds', '50', `loopback:${p}`]);
    const result = collect(bench.child.stdout);
    expect(await bench.exited).toBe(0);
    const figures = JSON.parse(await result);
    expect(figures).toMatchObject({ address: `loopback:${p}`, peer: `loopback:${p}`, mib: 8, rounds: 50 });
    expect(figures.throughputMiBps).toBeGreaterThan(0);
    expect(figures.roundTripMedianUs).toBeGreaterThan(0);
    expect(figures.roundTripP99Us).toBeGreaterThanOrEqual(figures.roundTripMedianUs);
    // On a terminal (util-linux script gives it one) bench redraws a live progress line.
    const tty = spawn('script', ['-qec', `${process.execPath} ${CLI} bench --mib 16 --rounds 200 loopback:${p}`, '/dev/null'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const screen = collect(tty.stdout);
    expect((await once(tty, 'exit'))[0]).toBe(0);
    const text = await screen;
    expect(text).toMatch(/\r\x1b\[Kbulk: \d+% [\d.]+ MiB\/s/);
    // The result names the peer in the short form, on a line of its own once the progress line is cleared.
    expect(text).toMatch(new RegExp(`\\r\\x1b\\[Kloopback:${p}: [\\d.]+ MiB/s each way \\(16 MiB echoed\\)`));
    echo.child.kill('SIGTERM');
    expect(await echo.exited).toBe(0);
  });

  it('doctor --json reports the loopback transport and CID 1', async () => {
    const doctor = hvsock(['doctor', '--json']);
    const out = collect(doctor.child.stdout);
    expect(await doctor.exited).toBe(0);
    const report = JSON.parse(await out);
    expect(report).toMatchObject({ platform: 'linux', family: 'AF_VSOCK', sockets: true, loopback: true, localCid: 1 });
    expect(report.transports.vsock_loopback).toBe(true);
    expect(report).toMatchObject({ loopbackBind: true, parent: 'self', role: 'none' });
    // A socket it never connects: the kernel's default, then 1 MiB as bufferSize sets it (the maximum raised first).
    expect(report.bufferSize).toMatchObject({ default: expect.any(Number), asked: 1048576, effective: 1048576 });
  });

  it('doctor in this guest (loopback, no guest transport): loopback exists, and CID 2 is this machine itself', async () => {
    const doctor = hvsock(['doctor']);
    const out = collect(doctor.child.stdout);
    expect(await doctor.exited).toBe(0);
    const text = await out;
    expect(text).toMatch(/^local CID: 1 \(loopback\)$/m);
    expect(text).toMatch(/^buffer: {4}\d+ bytes by default; bufferSize 1048576 set, the socket holds it$/m);
    expect(text).toMatch(/^loopback: {2}yes, CID 1 \(loopback:<port>\) stays on this machine$/m);
    expect(text).toMatch(/^parent: {4}CID 2 is this machine itself: no guest transport, so the kernel routes it to vsock loopback$/m);
    expect(text).toMatch(/parent:<port> reaches a server on this machine, not a hypervisor host/);
    expect(text).not.toMatch(/Peers reach this machine at CID/);
  });

  it('as doctor says, parent:<port> (CID 2) reaches a server on this machine here', async () => {
    const p = port();
    const echo = hvsock(['echo', `any:${p}`]);
    await listening(echo);
    const input = join(mkdtempSync(join(tmpdir(), 'hvsock-parent-')), 'in.txt');
    writeFileSync(input, 'hello via parent\n');
    const client = hvsock(['connect', `parent:${p}`], openSync(input, 'r'));
    const out = collect(client.child.stdout);
    expect(await client.exited).toBe(0);
    expect(await out).toBe('hello via parent\n');
    echo.child.kill('SIGTERM');
    expect(await echo.exited).toBe(0);
  });

  it('a refused connect exits 1 and says why on stderr', async () => {
    const p = port();
    const client = hvsock(['connect', `1:${p}`]);
    const err = collect(client.child.stderr);
    expect(await client.exited).toBe(1);
    expect(await err).toBe(`hvsock connect: connect ECONNREFUSED loopback:${p}\n`);
  });
});
