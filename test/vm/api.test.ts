// createConnection over real vsock (CID 1 in the guest). docs/api.md documents
// it with connect() — "connect(options[, connectListener]), createConnection(...)"
// — so it must behave as connect() in every calling form: the listener on
// 'connect', the options (timeout, allowHalfOpen), the positional forms and
// the default machine (loopback). The engine suite cannot reach it: it always
// opens a hypervisor socket, which only exists here.
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { Socket, connect, createConnection } from '../../src/index.js';
import { LOOPBACK, echoServer, listen, readAll } from './helpers.js';

describe('createConnection', () => {
  it('is connect() itself', () => {
    expect(createConnection).toBe(connect);
  });

  it('createConnection(options, listener): the listener runs once on connect, data round-trips', async () => {
    const s = await echoServer();
    let calls = 0;
    const socket = createConnection({ cid: LOOPBACK, port: s.port }, () => calls++);
    expect(socket).toBeInstanceOf(Socket);
    expect(socket.connecting).toBe(true);
    await once(socket, 'connect');
    expect(calls).toBe(1);
    expect(socket.remoteHvAddress).toMatchObject({ family: 'AF_VSOCK', cid: LOOPBACK, port: s.port });
    const reply = readAll(socket);
    socket.end('through createConnection');
    expect((await reply).toString()).toBe('through createConnection');
    expect(calls).toBe(1);
  });

  it('createConnection(port, cid, listener) and createConnection(port, listener), which defaults to loopback', async () => {
    const s = await echoServer();
    // Each listener notes the peer while connected (a closed socket has no peer to ask) and says goodbye.
    const peers: Array<number | undefined> = [];
    const withCid: Socket = createConnection(s.port, LOOPBACK, () => {
      peers.push(withCid.remoteCid);
      withCid.end('port and cid');
    });
    const portOnly: Socket = createConnection(s.port, () => {
      peers.push(portOnly.remoteCid);
      portOnly.end('port only');
    });
    expect((await readAll(withCid)).toString()).toBe('port and cid');
    expect((await readAll(portOnly)).toString()).toBe('port only');
    expect(peers).toEqual([LOOPBACK, LOOPBACK]);
  });

  it("takes the idle timeout: 'timeout' after idleness, the socket stays open", async () => {
    const s = await listen((peer) => peer.resume());
    const started = Date.now();
    const socket = createConnection({ cid: LOOPBACK, port: s.port, timeout: 200 });
    await once(socket, 'timeout');
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(socket.destroyed).toBe(false);
    socket.destroy();
  });

  it('takes allowHalfOpen: the socket stays writable after the peer ends', async () => {
    let peerGot: Promise<Buffer> | undefined;
    const s = await listen(
      (peer) => {
        peerGot = readAll(peer);
        peer.end('bye');
      },
      { allowHalfOpen: true },
    );
    const socket = createConnection({ cid: LOOPBACK, port: s.port, allowHalfOpen: true });
    expect((await readAll(socket)).toString()).toBe('bye');
    expect(socket.writable).toBe(true);
    socket.end('written after the peer ended');
    expect((await (peerGot as Promise<Buffer>)).toString()).toBe('written after the peer ended');
  });

  it('validates like connect(): bad arguments throw before any socket exists', () => {
    expect(() => createConnection({ cid: LOOPBACK, port: -1 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => createConnection(true as unknown as number)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    // A string is the short form, checked as such: an IP address is refused, saying what to write.
    expect(() => createConnection('10.0.0.5:5000')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE', message: expect.stringMatching(/IP address/) }));
    expect(() => createConnection({ cid: LOOPBACK, port: 5000, connectedSuspend: true })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE', message: expect.stringMatching(/connectedSuspend/) }),
    );
  });
});
