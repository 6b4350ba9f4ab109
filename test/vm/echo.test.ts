import { once } from 'node:events';
import net from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import {
  HV_GUID_LOOPBACK,
  HV_GUID_WILDCARD,
  VMADDR_CID_ANY,
  connect,
  createServer,
  localCid,
  serviceIdFromPort,
  type DropEvent,
  type Server,
  type Socket,
} from '../../src/index.js';
import { LOOPBACK, connected, echoServer, listen, readAll, track } from './helpers.js';

const connectionCount = (server: Server): Promise<number> =>
  new Promise((resolve, reject) => server.getConnections((error, n) => (error ? reject(error) : resolve(n))));

describe('echo over vsock loopback', () => {
  it('round-trips bytes and reports both address forms', async () => {
    const s = await echoServer();
    expect(s.server.listening).toBe(true);
    const address = s.server.address();
    expect(address).toMatchObject({ family: 'AF_VSOCK', cid: VMADDR_CID_ANY, port: s.port, vmId: HV_GUID_WILDCARD });

    const socket = await connected(s.port);
    expect(socket.remoteHvAddress).toMatchObject({ family: 'AF_VSOCK', address: 'loopback', cid: LOOPBACK, port: s.port, vmId: HV_GUID_LOOPBACK });
    // Strings and numbers, as node:net's, so string-minded code (logging) reads the short form.
    expect(socket.remoteAddress).toBe('loopback');
    expect(socket.remotePort).toBe(s.port);
    expect(`${socket.remoteAddress}:${socket.remotePort}`).toBe(`loopback:${s.port}`);
    expect(socket.remoteFamily).toBe('AF_VSOCK');
    expect(socket.remoteCid).toBe(LOOPBACK);
    // Linux reports an auto-bound client's own CID as VMADDR_CID_ANY: "any", never 4294967295.
    expect(socket.localHvAddress).toMatchObject({ family: 'AF_VSOCK', cid: VMADDR_CID_ANY });
    expect(socket.localAddress).toBe('any');
    expect(socket.localPort).toBeGreaterThan(0);
    expect(socket.address()).toEqual(socket.localHvAddress);
    expect(address).toMatchObject({ address: 'any', port: s.port });
    expect(socket.readyState).toBe('open');
    expect(socket.pending).toBe(false);
    socket.end('hello, hypervisor');
    const echoed = await readAll(socket);
    expect(echoed.toString()).toBe('hello, hypervisor');
    expect(socket.bytesWritten).toBe(17);
    expect(socket.bytesRead).toBe(17);
  });

  it('connects with the Hyper-V form: loopback VM GUID and a template service GUID', async () => {
    // Kernel-picked ports can lie above 0x7FFFFFFF, outside the template range: pick one below.
    const port = 0x10000 + Math.floor(Math.random() * 0x100000);
    const server = track(createServer((peer) => peer.pipe(peer)));
    server.listen({ port });
    await once(server, 'listening');
    const socket = connect({ vmId: HV_GUID_LOOPBACK, serviceId: serviceIdFromPort(port) });
    await once(socket, 'connect');
    expect(socket.remoteServiceId).toBe(serviceIdFromPort(port));
    socket.end('guid');
    expect((await readAll(socket)).toString()).toBe('guid');
  });

  it('listens on an explicit port given as a service GUID', async () => {
    const port = 0x4000 + Math.floor(Math.random() * 0x1000);
    const server = track(createServer((socket) => socket.end('hi')));
    server.listen({ vmId: HV_GUID_WILDCARD, serviceId: serviceIdFromPort(port) });
    await once(server, 'listening');
    expect(server.address()).toMatchObject({ port, serviceId: serviceIdFromPort(port) });
    const socket = connect(port, LOOPBACK);
    expect((await readAll(socket)).toString()).toBe('hi');
  });

  it('emits events in node:net order', async () => {
    const s = await listen((peer) => peer.end('bye'));
    const events: string[] = [];
    const socket = connect({ cid: LOOPBACK, port: s.port });
    expect(socket.connecting).toBe(true);
    expect(socket.readyState).toBe('opening');
    for (const name of ['connect', 'ready', 'end', 'finish', 'close']) socket.on(name, () => events.push(name));
    socket.on('data', () => events.push('data'));
    const [hadError] = await once(socket, 'close');
    expect(hadError).toBe(false);
    expect(events).toEqual(['connect', 'ready', 'data', 'end', 'finish', 'close']);
    expect(socket.readyState).toBe('closed');
    expect(socket.destroyed).toBe(true);
  });

  it('serves many concurrent connections', async () => {
    const s = await echoServer();
    const count = 200;
    // Every client gets its echo and keeps its connection open, so all of
    // them are open at once: the server must count exactly that many.
    const clients = Array.from({ length: count }, (_, i) => {
      const socket = connect({ cid: LOOPBACK, port: s.port });
      const message = `message ${i}`;
      const reply = readAll(socket);
      let received = 0;
      const echoed = new Promise<void>((resolve, reject) => {
        socket.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received >= message.length) resolve();
        });
        reply.then(() => reject(new Error(`${message}: ended before its echo`)), reject);
      });
      socket.write(message);
      return { socket, reply, echoed };
    });
    await Promise.all(clients.map((c) => c.echoed));
    expect(await connectionCount(s.server)).toBe(count);
    for (const c of clients) c.socket.end();
    const results = await Promise.all(clients.map(async (c) => (await c.reply).toString()));
    expect(results).toEqual(Array.from({ length: count }, (_, i) => `message ${i}`));
    // Each server side closes once its client's end has come through; waited
    // for with a ceiling only against a connection that is never released.
    await vi.waitFor(async () => expect(await connectionCount(s.server)).toBe(0), { timeout: 30_000, interval: 50 });
  });

  it('localCid() reads this machine\'s CID from /dev/vsock (1 in the loopback-only guest)', () => {
    expect(localCid()).toBe(LOOPBACK);
  });

  it('pauseOnConnect holds data until resume()', async () => {
    let accepted: Socket | undefined;
    const s = await listen((peer) => (accepted = peer), { pauseOnConnect: true });
    const socket = await connected(s.port);
    socket.write('queued');
    await new Promise((r) => setTimeout(r, 200));
    expect(accepted?.isPaused()).toBe(true);
    const data = once(accepted as Socket, 'data');
    accepted?.resume();
    expect(String((await data)[0])).toBe('queued');
    socket.destroy();
  });

  it('maxConnections drops connections beyond the limit', async () => {
    const s = await listen(() => {});
    s.server.maxConnections = 1;
    const drops: DropEvent[] = [];
    s.server.on('drop', (info) => drops.push(info));
    const first = await connected(s.port);
    const second = connect({ cid: LOOPBACK, port: s.port });
    // The kernel completes the connect before the server sees it: the port
    // the dropped client was bound to is known on its side before the drop.
    let secondPort: number | undefined;
    second.once('connect', () => (secondPort = second.localPort));
    second.on('error', () => {});
    await once(second, 'close');
    expect(drops).toHaveLength(1);
    expect(secondPort).toBeGreaterThan(0);
    // node:net's payload (localAddress/localPort/localFamily, remoteAddress/
    // remotePort/remoteFamily), the addresses as text as on Socket, plus the
    // typed addresses: the server's, and the dropped peer's: this machine
    // (CID 1), the client's port.
    const [drop] = drops;
    expect(drop).toMatchObject({
      localAddress: 'any', localPort: s.port, localFamily: 'AF_VSOCK',
      remoteAddress: 'loopback', remotePort: secondPort, remoteFamily: 'AF_VSOCK',
    });
    expect(drop?.localHvAddress).toEqual(s.server.address());
    expect(drop?.remoteHvAddress).toMatchObject({ family: 'AF_VSOCK', cid: LOOPBACK, port: secondPort });
    expect(await connectionCount(s.server)).toBe(1);
    first.destroy();
  });

  it("a client dropped by maxConnections that writes at once sees node:net's clean end or ECONNRESET, never EPIPE", async () => {
    // What the client's first write meets, side by side: node:net over TCP in
    // this guest, hvsock over vsock. A TCP peer that closed takes the bytes
    // and resets afterwards; a vsock peer that closed refuses the send at once
    // (EPIPE from the kernel), which hvsock reports as the reset it is.
    const outcome = (socket: NodeJS.EventEmitter & { write(data: string, cb: (e?: Error | null) => void): unknown }) =>
      new Promise<string>((resolve) => {
        socket.once('connect', () => socket.write('hello', () => {}));
        socket.once('end', () => resolve('end'));
        socket.once('error', (e: NodeJS.ErrnoException) => resolve(String(e.code)));
      });
    const seen = { 'node:net': [] as string[], hvsock: [] as string[] };
    const tcp = net.createServer(() => {});
    tcp.maxConnections = 1;
    tcp.listen(0, '127.0.0.1');
    await once(tcp, 'listening');
    const s = await listen(() => {});
    s.server.maxConnections = 1;
    const tcpFirst = net.connect((tcp.address() as net.AddressInfo).port, '127.0.0.1');
    await once(tcpFirst, 'connect');
    const first = await connected(s.port);
    try {
      for (let round = 0; round < 5; round++) {
        const tcpClient = net.connect((tcp.address() as net.AddressInfo).port, '127.0.0.1');
        seen['node:net'].push(await outcome(tcpClient));
        tcpClient.destroy();
        const client = connect({ cid: LOOPBACK, port: s.port });
        seen.hvsock.push(await outcome(client));
        client.destroy();
      }
    } finally {
      tcpFirst.destroy();
      first.destroy();
      tcp.close();
    }
    for (const outcomes of Object.values(seen)) {
      for (const o of outcomes) expect(['end', 'ECONNRESET']).toContain(o);
    }
    expect(seen.hvsock).toHaveLength(5);
  });
});
