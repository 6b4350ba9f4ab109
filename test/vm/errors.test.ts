import { once } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { connect, createServer } from '../../src/index.js';
import { LOOPBACK, closeServer, connected, echoServer, listen, nextError } from './helpers.js';

/** A port that was just free: bound and released. */
async function unusedPort(): Promise<number> {
  const s = await listen(() => {});
  await closeServer(s.server);
  return s.port;
}

describe('errors', () => {
  it('a port nobody listens on is ECONNREFUSED with node:net fields', async () => {
    const port = await unusedPort();
    const socket = connect({ cid: LOOPBACK, port });
    const closed = new Promise<[boolean]>((resolve) => socket.once('close', (...args: [boolean]) => resolve(args)));
    const error = await nextError(socket);
    expect(error.code).toBe('ECONNREFUSED');
    expect(error.errno).toBe(-111);
    expect(error.syscall).toBe('connect');
    expect(error).toMatchObject({ cid: LOOPBACK, port });
    expect(error.message).toBe(`connect ECONNREFUSED loopback:${port}`); // the short form: CID 1 is loopback
    const [hadError] = await closed;
    expect(hadError).toBe(true);
  });

  it('listening twice on one port is EADDRINUSE, emitted on the server', async () => {
    const s = await echoServer();
    const second = createServer();
    second.listen({ port: s.port });
    const error = await nextError(second);
    expect(error.code).toBe('EADDRINUSE');
    expect(error.syscall).toBe('bind');
    expect(second.listening).toBe(false);
  });

  it('rejects invalid arguments synchronously, before any socket exists', () => {
    expect(() => connect({ cid: LOOPBACK, port: -1 })).toThrow(RangeError);
    expect(() => connect({ cid: LOOPBACK, port: 1, connectTimeout: 0 })).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
    );
    expect(() => connect({ cid: 'x' as unknown as number, port: 1 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
    expect(() => createServer().listen({ vmId: 'not-a-guid', port: 1 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    expect(() => connect({ port: 1, signal: {} as AbortSignal })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
  });

  it('an exception thrown in a data handler reaches uncaughtException, not a crash', async () => {
    const s = await echoServer();
    const socket = await connected(s.port);
    const boom = new Error('boom');
    const caught = new Promise<unknown>((resolve) => {
      const listeners = process.listeners('uncaughtException');
      process.removeAllListeners('uncaughtException');
      process.once('uncaughtException', (err) => {
        for (const l of listeners) process.on('uncaughtException', l);
        resolve(err);
      });
    });
    socket.once('data', () => {
      throw boom;
    });
    socket.write('x');
    expect(await caught).toBe(boom);
    socket.destroy();
  });
});

describe('AbortSignal', () => {
  it('aborting during connect destroys with AbortError', async () => {
    const s = await echoServer();
    const controller = new AbortController();
    const socket = connect({ cid: LOOPBACK, port: s.port, signal: controller.signal });
    controller.abort();
    const error = await nextError(socket);
    expect(error.name).toBe('AbortError');
    expect(error.code).toBe('ABORT_ERR');
    expect(socket.destroyed).toBe(true);
  });

  it('an already-aborted signal fails the connect', async () => {
    const socket = connect({ cid: LOOPBACK, port: 1234, signal: AbortSignal.abort() });
    expect((await nextError(socket)).code).toBe('ABORT_ERR');
  });

  it('aborting an open connection destroys it; the peer sees the end', async () => {
    // What the peer went through, recorded from the moment it exists: the
    // title promises a clean end there, not a reset.
    const peerErrors: Error[] = [];
    let peerEnded = false;
    let peerClosed: Promise<boolean> | undefined;
    const s = await listen((p) => {
      p.on('error', (e) => peerErrors.push(e));
      p.on('end', () => (peerEnded = true));
      peerClosed = new Promise((resolve) => p.once('close', resolve));
      p.resume();
    });
    const controller = new AbortController();
    const socket = await connected(s.port, { signal: controller.signal });
    // The client's connect can complete before the server has accepted.
    await vi.waitFor(() => expect(peerClosed).toBeDefined(), { timeout: 30_000 });
    controller.abort();
    expect((await nextError(socket)).code).toBe('ABORT_ERR');
    const hadError = await peerClosed;
    expect(peerErrors).toEqual([]);
    expect(peerEnded).toBe(true);
    expect(hadError).toBe(false);
  });

  it('aborting a listen signal closes the server', async () => {
    const controller = new AbortController();
    const srv = createServer();
    srv.listen({ port: 0, signal: controller.signal });
    await once(srv, 'listening');
    const closed = once(srv, 'close');
    controller.abort();
    await closed;
    expect(srv.listening).toBe(false);
  });
});
