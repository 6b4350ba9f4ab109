import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { connect, type Socket } from '../../src/index.js';
import { LOOPBACK, closeServer, connected, echoServer, listen, nextError, openFdCount, readAll } from './helpers.js';

describe('lifecycle', () => {
  it('destroy in the middle of a large write: callback errors, close fires, peer sees the end', async () => {
    // Both sides' errors recorded, never swallowed: destroy() without an
    // error must not emit one, and the peer must see an end, not a reset.
    const clientErrors: Error[] = [];
    const peerErrors: Error[] = [];
    let peerEnded = false;
    let peer: Socket | undefined;
    let peerClosed: Promise<boolean> | undefined;
    const s = await listen((p) => {
      peer = p;
      p.on('error', (e) => peerErrors.push(e));
      p.on('end', () => (peerEnded = true));
      peerClosed = new Promise((resolve) => p.once('close', resolve));
      p.pause();
    });
    const socket = await connected(s.port);
    const results: Array<Error | null | undefined> = [];
    socket.write(Buffer.alloc(32 * 1024 * 1024), (err) => results.push(err));
    socket.on('error', (e) => clientErrors.push(e));
    expect(socket.writableLength).toBeGreaterThan(0);
    // The client's connect can complete before the server has accepted.
    await vi.waitFor(() => expect(peer).toBeDefined(), { timeout: 30_000 });
    socket.destroy();
    const [hadError] = await once(socket, 'close');
    expect(hadError).toBe(false);
    expect(clientErrors).toEqual([]);
    expect(results).toHaveLength(1);
    expect(results[0]).toBeInstanceOf(Error);
    (peer as Socket).resume();
    const peerHadError = await peerClosed;
    expect(peerErrors).toEqual([]);
    expect(peerEnded).toBe(true);
    expect(peerHadError).toBe(false);
  });

  it('server.close() stops accepting at once and emits close after the last connection', async () => {
    let peer: Socket | undefined;
    const s = await listen((p) => {
      peer = p;
      p.pipe(p);
    });
    const live = await connected(s.port);
    let closed = false;
    const closeDone = new Promise<void>((resolve) =>
      s.server.close(() => {
        closed = true;
        resolve();
      }),
    );
    expect(s.server.listening).toBe(false);
    expect(s.server.address()).toBeNull();
    const refused = connect({ cid: LOOPBACK, port: s.port });
    expect((await nextError(refused)).code).toBe('ECONNREFUSED');
    // The live connection still works.
    live.write('ping');
    expect(String((await once(live, 'data'))[0])).toBe('ping');
    await new Promise((r) => setTimeout(r, 100));
    expect(closed).toBe(false);
    live.end();
    await once(peer as Socket, 'close');
    await closeDone;
    expect(closed).toBe(true);
  });

  it('close() on a server that is not listening reports ERR_SERVER_NOT_RUNNING', async () => {
    const s = await echoServer();
    await closeServer(s.server);
    const error = await new Promise<Error | undefined>((resolve) => s.server.close(resolve));
    expect((error as NodeJS.ErrnoException).code).toBe('ERR_SERVER_NOT_RUNNING');
  });

  it('1000 connect/close cycles leak no descriptors', async () => {
    const s = await echoServer();
    const connections = () => new Promise<number>((resolve) => s.server.getConnections((_e, n) => resolve(n)));
    // Warm up lazily-opened descriptors (the binding, epoll) first, and let
    // the server's side of that connection close (its fd is closed by then)
    // before counting.
    const warmPeerClosed = new Promise<void>((resolve) =>
      s.server.once('connection', (peer: Socket) => peer.once('close', () => resolve())),
    );
    (await connected(s.port)).destroy();
    await warmPeerClosed;
    const before = openFdCount();
    for (let i = 0; i < 1000; i++) {
      const socket = connect({ cid: LOOPBACK, port: s.port });
      await once(socket, 'connect');
      socket.end();
      await once(socket, 'close');
    }
    // The server's sides close once each end has come through: waited for,
    // with a ceiling only against a connection or descriptor never released.
    await vi.waitFor(
      async () => {
        expect(await connections()).toBe(0);
        expect(openFdCount()).toBe(before);
      },
      { timeout: 30_000, interval: 50 },
    );
    expect(await connections()).toBe(0);
    expect(openFdCount()).toBe(before);
  });

  it('setTimeout emits timeout after idleness and keeps the socket open', async () => {
    const s = await echoServer();
    const socket = await connected(s.port);
    const started = Date.now();
    socket.setTimeout(200);
    await once(socket, 'timeout');
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(socket.destroyed).toBe(false);
    socket.setTimeout(0);
    socket.end('after timeout');
    expect((await readAll(socket)).toString()).toBe('after timeout');
  });

  it('writes issued before connect completes are sent after it', async () => {
    const s = await echoServer();
    const socket = connect({ cid: LOOPBACK, port: s.port });
    socket.write('early ');
    socket.end('bird');
    expect((await readAll(socket)).toString()).toBe('early bird');
  });

  it('lets a process exit once a paused socket has stopped reading, side by side with node:net', async () => {
    // test/engine/fixtures/paused-child.cjs: the child pauses on the first
    // byte; then 1.5 times what its stream buffers arrives in one piece,
    // it stops reading, and nothing more comes. node:net's child (over TCP in
    // this guest) exits by itself; hvsock's (over vsock) must too.
    const fixture = path.join(__dirname, '..', 'engine', 'fixtures', 'paused-child.cjs');
    const peers: Array<{ write(data: Buffer | string): unknown }> = [];
    const tcp = net.createServer((p) => {
      p.on('error', () => {});
      p.write('x');
      peers.push(p);
    });
    tcp.listen(0, '127.0.0.1');
    await once(tcp, 'listening');
    const vsock = await listen((p) => {
      p.on('error', () => {});
      p.write('x');
      peers.push(p);
    });
    try {
      const outcomes: Record<string, number | string | null> = {};
      for (const [how, port] of [
        ['net', (tcp.address() as net.AddressInfo).port],
        ['hvsock-vsock', vsock.port],
      ] as const) {
        const child = spawn(process.execPath, [fixture, how, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
        const closed = new Promise<number | null>((resolve) => child.once('close', resolve));
        const [line] = await once(child.stdout, 'data');
        const highWaterMark = Number(/^paused (\d+)\n$/.exec(String(line))?.[1]);
        expect(highWaterMark).toBeGreaterThan(0);
        peers.at(-1)!.write(Buffer.alloc(highWaterMark * 1.5, 1));
        const timer = new Promise<string>((resolve) => setTimeout(resolve, 20_000, 'still running'));
        outcomes[how] = await Promise.race([closed, timer]);
        child.kill();
      }
      expect(outcomes).toEqual({ net: 0, 'hvsock-vsock': 0 });
    } finally {
      tcp.close();
    }
  });
});
