// Failures over the engine: Node-shaped errors with the libuv code of the
// running OS (Winsock errors translated as node:net translates them), and
// destroy/reset while I/O is under way (on Windows: CancelIoEx + closesocket
// with operations still posted).
'use strict';
const assert = require('node:assert/strict');
const { once } = require('node:events');
const { after, describe, it } = require('node:test');
const { listen, refusedPort, connect, newServer, closeAll, nextError, event, pattern, uvErrno, sleep, until } = require('./helpers.cjs');

/** How a connection ends when its peer goes away: a reset, never a silent close. */
const PEER_GONE = ['ECONNRESET', 'EPIPE', 'ECONNABORTED'];

const T = { timeout: 60_000 };
after(closeAll);

describe('errors over the engine', () => {
  it('refuses a connect to a port nobody listens on: ECONNREFUSED with errno and syscall', T, async () => {
    const port = await refusedPort();
    const client = connect(port);
    const closed = event(client, 'close');
    const error = await nextError(client);
    assert.equal(error.code, 'ECONNREFUSED');
    assert.equal(error.errno, uvErrno('ECONNREFUSED'));
    assert.equal(error.syscall, 'connect');
    assert.equal(error.port, port);
    assert.match(error.message, /^connect ECONNREFUSED/);
    const hadError = await closed;
    assert.equal(hadError, true);
    assert.equal(client.destroyed, true);
  });

  it('reports a taken address as EADDRINUSE, syscall listen as node:net, on the server', T, async () => {
    const { port } = await listen(() => {});
    const second = newServer();
    second.listen({ port });
    const [error] = await once(second, 'error');
    assert.equal(error.code, 'EADDRINUSE');
    assert.equal(error.errno, uvErrno('EADDRINUSE'));
    assert.equal(error.syscall, 'listen');
    assert.equal(second.listening, false);
  });

  it('destroying a socket with a write and a read posted fails the write callback and nothing else', T, async () => {
    const { port } = await listen(() => {}, { pauseOnConnect: true }); // never reads
    const client = connect(port);
    await once(client, 'connect');
    const big = pattern(8 * 1024 * 1024, 5);
    const writeDone = new Promise((resolve) => client.write(big, resolve));
    await sleep(100); // the write is stuck in the OS
    assert.ok(client.writableLength > 0);
    const closed = event(client, 'close');
    client.destroy();
    const error = await writeDone;
    assert.ok(error instanceof Error, 'the pending write reports failure');
    const hadError = await closed;
    assert.equal(hadError, false);
  });

  it('a peer that destroys mid-transfer ends the other side with a reset or an end, never a hang', T, async () => {
    const { port } = await listen((socket) => {
      socket.once('data', () => socket.destroy());
    });
    const client = connect(port);
    await once(client, 'connect');
    const errors = [];
    let ended = false;
    client.on('error', (e) => errors.push(e));
    client.on('end', () => (ended = true));
    client.resume();
    const chunk = pattern(1024 * 1024, 9);
    const closed = event(client, 'close');
    const writing = (async () => {
      for (let i = 0; i < 64 && !client.destroyed; i++) {
        if (!client.write(chunk)) await Promise.race([event(client, 'drain'), closed]);
      }
    })();
    const hadError = await closed;
    await writing;
    // The end is reported, one way or the other: a socket that just closes
    // without an error or an 'end' would hide the peer's going away.
    assert.ok(errors.length > 0 || ended, 'neither an error nor an end');
    assert.ok(errors.length <= 1, `more than one error: ${errors.map((e) => e.code)}`);
    for (const error of errors) {
      assert.ok(PEER_GONE.includes(error.code), `unexpected ${error.code}`);
      assert.equal(error.errno, uvErrno(error.code));
    }
    assert.equal(hadError, errors.length > 0);
    assert.equal(client.destroyed, true);
  });

  it('server.close() stops accepting at once and emits close after the last connection ends', T, async () => {
    let accepted;
    const { server, port } = await listen((socket) => (accepted = socket));
    const client = connect(port);
    await once(client, 'connect');
    await new Promise((resolve) => setImmediate(resolve));
    let closed = false;
    server.close(() => (closed = true));
    assert.equal(server.listening, false);
    const refused = await nextError(connect(port));
    assert.equal(refused.code, 'ECONNREFUSED');
    assert.equal(closed, false, 'a live connection keeps close pending');
    const acceptedClosed = once(accepted, 'close');
    client.end();
    await acceptedClosed;
    // 'close' follows the last connection's close on a later tick: waited
    // for, with a ceiling only against a hang.
    await until(() => closed, "the server's close callback");
    assert.equal(closed, true);
  });

  it('writes after the peer is gone fail with a system error, not a crash', T, async () => {
    const { port } = await listen((socket) => socket.destroy());
    // Half-open, so that a peer that closed cleanly (FIN, as under Wine when
    // the close beats the first write) does not end this side too: the
    // writes really go on after the peer is gone, until the OS refuses one.
    const client = connect(port, { allowHalfOpen: true });
    await once(client, 'connect');
    const error = await new Promise((resolve) => {
      client.on('error', resolve);
      const tick = () => {
        if (client.destroyed) return resolve(null);
        client.write(pattern(64 * 1024), () => setTimeout(tick, 5));
      };
      tick();
    });
    // The title's promise: a system error, not a socket that just goes away.
    assert.notEqual(error, null, 'the socket closed without reporting an error');
    assert.ok(PEER_GONE.includes(error.code), error.code);
    assert.equal(error.errno, uvErrno(error.code));
    assert.equal(typeof error.syscall, 'string');
    assert.equal(client.destroyed, true);
  });
});
