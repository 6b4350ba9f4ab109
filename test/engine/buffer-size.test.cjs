// The bufferSize option's path through Socket, Server and the engine:
// connect({ bufferSize }) and listen({ bufferSize }) set it before connect
// and listen, the server sets it on every socket it accepts, and
// getBufferSize() reads back what the OS socket holds. Over the loopback-TCP
// transport it is SO_SNDBUF/SO_RCVBUF and the read back is SO_RCVBUF: Linux
// doubles what it is given (socket(7)), Windows (Wine) keeps it as given, so
// a socket holds from `asked` to twice that. Over real AF_HYPERV (--hyperv)
// the provider may hold anything or refuse: there only the connection and a
// number (or a system error) are required. Linux vsock's own sizes are
// test/vm/api.test.ts's.
'use strict';
const assert = require('node:assert/strict');
const { once } = require('node:events');
const { afterEach, describe, it } = require('node:test');
const { hvsock, kTransport, tcpLoopback, transport, target, newServer, connect, newSocket, closeAll, event, until } = require('./helpers.cjs');

const T = { timeout: 120_000 };
const overTcp = transport === 'tcp';

/** What the tests ask for: below every default, so a socket that holds it shows the option took. */
const ASKED = 16384;

/** A server listening with these listen options (the port the kernel's, or a random template port over Hyper-V). */
async function listenWith(listenOptions, onConnection, serverOptions = {}) {
  const server = newServer(serverOptions, onConnection);
  const port = overTcp ? 0 : 0x10000000 + Math.floor(Math.random() * 0x60000000);
  server.listen({ ...target(port), ...listenOptions });
  await event(server, 'listening');
  return { server, port: server.address().port };
}

/** getBufferSize() holds `asked` (TCP: from it to twice it), or over Hyper-V is a number or a system error. */
function assertHolds(socket, asked, who) {
  if (!overTcp) {
    try {
      assert.equal(typeof socket.getBufferSize(), 'number', who);
    } catch (error) {
      assert.equal(error.syscall, 'getsockopt', `${who}: ${error}`);
    }
    return;
  }
  const size = socket.getBufferSize();
  assert.ok(size >= asked && size <= 2 * asked, `${who} holds ${size}, asked for ${asked}`);
}

describe('bufferSize', () => {
  afterEach(closeAll);

  it('connect({ bufferSize }) sets it on the client; getBufferSize() reads it back once connected', T, async () => {
    const accepted = [];
    const { port } = await listenWith({}, (socket) => accepted.push(socket));
    const client = newSocket();
    assert.equal(client.getBufferSize(), undefined, 'no OS socket yet');
    client.connect({ ...target(port), bufferSize: ASKED });
    await once(client, 'connect');
    assertHolds(client, ASKED, 'the client');
    // node:net's bufferSize stays writableLength.
    assert.equal(client.bufferSize, 0);
    client.destroy();
    await once(client, 'close');
    assert.equal(client.getBufferSize(), undefined, 'destroyed');
  });

  it('listen({ bufferSize }) sets it on the listener and on every socket it accepts', T, async () => {
    const accepted = [];
    const { port } = await listenWith({ bufferSize: ASKED }, (socket) => accepted.push(socket));
    const clients = [];
    for (let i = 0; i < 3; i++) {
      const client = connect(port);
      await once(client, 'connect');
      clients.push(client);
    }
    await until(() => accepted.length === 3, 'three accepted sockets');
    for (const [i, socket] of accepted.entries()) assertHolds(socket, ASKED, `accepted socket ${i}`);
    for (const client of clients) client.destroy();
  });

  it('both ends set, data flows both ways (more than the buffer holds)', T, async () => {
    const payload = Buffer.alloc(ASKED * 16, 7);
    const { port } = await listenWith({ bufferSize: ASKED }, (socket) => socket.pipe(socket));
    const client = connect(port, { bufferSize: ASKED });
    await once(client, 'connect');
    assertHolds(client, ASKED, 'the client');
    const chunks = [];
    client.on('data', (chunk) => chunks.push(chunk));
    client.end(payload);
    await once(client, 'end');
    assert.equal(Buffer.concat(chunks).equals(payload), true);
  });

  it('a size out of range or of the wrong type throws before any socket exists', T, async () => {
    const client = newSocket();
    for (const bad of [4095, 2 ** 31, 65536.5]) {
      assert.throws(() => client.connect({ ...target(1), bufferSize: bad }), { code: 'ERR_OUT_OF_RANGE', name: 'RangeError' });
    }
    assert.throws(() => client.connect({ ...target(1), bufferSize: '65536' }), { code: 'ERR_INVALID_ARG_TYPE', name: 'TypeError' });
    assert.equal(client.connecting, false);
    const server = newServer();
    assert.throws(() => server.listen({ ...target(0), bufferSize: 0 }), { code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => server.listen({ ...target(0), bufferSize: null }), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.equal(server.listening, false);
  });

  it('an accept option the OS refuses fails nothing when it is optional (as SO_SNDBUF/SO_RCVBUF on Windows)', { ...T, skip: !overTcp && 'needs the TCP transport' }, async () => {
    // A transport whose accepted sockets get an option no socket has, marked optional: the engine skips its failure.
    const refused = { level: 0x7fff, name: 12345, value: Buffer.alloc(4), optional: true };
    const transportWithHint = { ...tcpLoopback, acceptedSocketOptions: (options) => [refused, ...tcpLoopback.acceptedSocketOptions(options)] };
    const accepted = [];
    const server = new hvsock.Server({ [kTransport]: transportWithHint }, (socket) => {
      accepted.push(socket);
      socket.end('hello');
    });
    server.listen({ port: 0, bufferSize: ASKED });
    await event(server, 'listening');
    const errors = [];
    server.on('error', (error) => errors.push(error));
    const client = connect(server.address().port);
    const chunks = [];
    client.on('data', (chunk) => chunks.push(chunk));
    await once(client, 'end');
    assert.equal(Buffer.concat(chunks).toString(), 'hello');
    assert.deepEqual(errors, []);
    assertHolds(accepted[0], ASKED, 'the accepted socket');
    client.destroy();
    accepted[0].destroy();
    server.close();
    await event(server, 'close');
  });
});
