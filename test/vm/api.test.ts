// createConnection over real vsock (CID 1 in the guest). docs/api.md documents
// it with connect() — "connect(options[, connectListener]), createConnection(...)"
// — so it must behave as connect() in every calling form: the listener on
// 'connect', the options (timeout, allowHalfOpen), the positional forms and
// the default machine (loopback). The engine suite cannot reach it: it always
// opens a hypervisor socket, which only exists here. Also the bufferSize
// option as the kernel holds it (SO_VM_SOCKETS_BUFFER_SIZE), read back from
// both ends of a connection.
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { Socket, connect, createConnection, createServer } from '../../src/index.js';
import { LOOPBACK, connected, echoServer, listen, readAll } from './helpers.js';

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

// bufferSize over real vsock: the kernel's SO_VM_SOCKETS_BUFFER_SIZE, read
// back from both ends. The kernel clamps the size to the socket's maximum (256
// KiB unless raised), so a size above it shows that the maximum was raised
// first. A socket without the option is the kernel's default, read from the
// kernel too rather than written down here.
describe('bufferSize', () => {
  /** The connection's two ends: the client made with clientOptions, the socket the server accepted. */
  async function pair(listenOptions: { bufferSize?: number }, clientOptions: { bufferSize?: number }): Promise<{ client: Socket; peer: Socket }> {
    let peer: Socket | undefined;
    const s = await listen((socket) => (peer = socket), {}, listenOptions);
    const client = await connected(s.port, clientOptions);
    while (peer === undefined) await new Promise((resolve) => setTimeout(resolve, 10));
    return { client, peer };
  }

  it('unset, both ends hold the kernel default; connect({ bufferSize }) changes the client only', async () => {
    const plain = await pair({}, {});
    const defaultSize = plain.client.getBufferSize();
    expect(defaultSize).toBeGreaterThan(0);
    expect(plain.peer.getBufferSize()).toBe(defaultSize);
    const small = await pair({}, { bufferSize: 65536 });
    expect(small.client.getBufferSize()).toBe(65536);
    expect(small.peer.getBufferSize()).toBe(defaultSize);
    for (const socket of [plain.client, plain.peer, small.client, small.peer]) socket.destroy();
  });

  it('listen({ bufferSize }) above the default maximum: every accepted socket holds it, the client keeps the default', async () => {
    const big = 1024 * 1024;
    const first = await pair({ bufferSize: big }, {});
    expect(first.peer.getBufferSize()).toBe(big);
    expect(first.client.getBufferSize()).not.toBe(big);
    const both = await pair({ bufferSize: big }, { bufferSize: 3 * big });
    expect(both.peer.getBufferSize()).toBe(big);
    expect(both.client.getBufferSize()).toBe(3 * big);
    for (const socket of [first.client, first.peer, both.client, both.peer]) socket.destroy();
  });

  it('with large buffers on both ends, 16 MiB echo back intact', async () => {
    const size = 4 * 1024 * 1024;
    const s = await listen((socket) => socket.pipe(socket), {}, { bufferSize: size });
    const client = await connected(s.port, { bufferSize: size });
    expect(client.getBufferSize()).toBe(size);
    const payload = Buffer.alloc(16 * 1024 * 1024);
    for (let i = 0; i < payload.length; i += 4) payload.writeUInt32LE(i, i);
    const reply = readAll(client);
    client.end(payload);
    expect((await reply).equals(payload)).toBe(true);
  });

  it('the largest size (2**31 - 1) is what the socket holds; an out-of-range one throws before any socket exists', async () => {
    const { client, peer } = await pair({}, { bufferSize: 2 ** 31 - 1 });
    expect(client.getBufferSize()).toBe(2 ** 31 - 1);
    client.destroy();
    peer.destroy();
    expect(() => connect({ cid: LOOPBACK, port: 5000, bufferSize: 2 ** 31 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', name: 'RangeError' }));
    expect(() => connect({ cid: LOOPBACK, port: 5000, bufferSize: 4095 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    const server = createServer();
    expect(() => server.listen({ port: 0, bufferSize: '1m' as unknown as number })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE', name: 'TypeError' }));
    expect(server.listening).toBe(false);
  });
});
