// Accepting, at the native handle and through Server: where an accepted
// socket's addresses come from, options set on every accepted socket, a
// listener that can no longer post an accept (reported, then recovered), and
// a listen({ fd }) adoption that fails without touching the caller's socket.
//
// On Windows (the IOCP engine, run here under Wine over AF_INET) the
// addresses come from the AcceptEx buffer and the options are set on each
// accept socket before AcceptEx; on POSIX, from and on the accepted socket.
// What Hyper-V itself does with them (getsockname's arbitrary service GUID,
// HVSOCKET_CONNECTED_SUSPEND on an accept socket) only a Hyper-V host shows:
// the GitHub Windows runners' suite (test:hyperv), not this one.
// Always over loopback TCP: these tests speak sockaddr_in to the handle.
'use strict';
const assert = require('node:assert/strict');
const net = require('node:net');
const { after, describe, it } = require('node:test');
const path = require('node:path');
const { tcpSockaddr: sockaddr, rawHandle: handle, rawListener, closeRawHandles, hvsock, loadBinding, tcpLoopback, uvErrno, newServer, closeAll, event, sleep, until } = require('./helpers.cjs');

// Not reachable through the package's exports on purpose: found by path.
const { kTransport } = require(path.join(path.dirname(require.resolve('hvsock')), 'transport', 'tcp-loopback.js'));

const T = { timeout: 120_000 };
const iocp = loadBinding().platform === 'win32';
/** AcceptEx calls the IOCP engine keeps posted on a listener (kSimultaneousAccepts). */
const POSTED_ACCEPTS = 8;

const handles = [];
const clients = [];
const servers = [];
after(async () => {
  for (const h of handles) h.close();
  closeRawHandles();
  for (const c of clients) c.destroy();
  for (const s of servers) s.close();
  await closeAll();
});

/** A listening handle on a free port whose connections (and accept errors) collect in `events`. */
function listener() {
  const { h, port } = rawListener(64);
  const events = [];
  h.onconnection = (status, peer) => {
    // Read now: the next call on the handle replaces it.
    events.push({ status, peer, windowsError: h.windowsError });
    if (peer !== undefined) handles.push(peer);
  };
  return { h, port, events };
}

/** A node:net client to 127.0.0.1:port, connected (rejects if it cannot connect). */
async function client(port) {
  const c = net.connect({ host: '127.0.0.1', port });
  clients.push(c);
  await new Promise((resolve, reject) => {
    c.once('connect', resolve);
    c.once('error', reject);
  });
  c.on('error', () => {}); // reset later by the tests on purpose
  return c;
}

/** An option the OS keeps as given on both engines, and how to read it back. */
const RECEIVE_TIMEOUT_MS = 2000;
const SO_RCVTIMEO = iocp
  ? {
      // SOL_SOCKET, SO_RCVTIMEO: a DWORD of milliseconds.
      level: 0xffff,
      name: 0x1006,
      value: Buffer.from(new Uint32Array([RECEIVE_TIMEOUT_MS]).buffer),
      length: 4,
      ms: (b) => b.readUInt32LE(0),
    }
  : {
      // SOL_SOCKET, SO_RCVTIMEO: a struct timeval (two longs on 64-bit Linux).
      level: 1,
      name: 20,
      value: Buffer.from(new BigInt64Array([BigInt(RECEIVE_TIMEOUT_MS / 1000), 0n]).buffer),
      length: 16,
      ms: (b) => Number(b.readBigInt64LE(0)) * 1000 + Number(b.readBigInt64LE(8)) / 1000,
    };
/** An option level no stack has: every setsockopt of it fails. */
const REFUSED_OPTION = { level: 12345, name: 1, value: Buffer.alloc(4) };
const REFUSED = iocp ? { code: 'EINVAL', windowsError: 10022 /* WSAEINVAL */ } : { code: 'ENOPROTOOPT', windowsError: undefined };

describe('accepting', { skip: process.env.HVSOCK_ENGINE_TRANSPORT === 'hyperv' && 'speaks sockaddr_in' }, () => {
  it('an accepted socket keeps the addresses of its accept, also once the OS can no longer tell them', T, async (t) => {
    const { h, port, events } = listener();
    assert.equal(h.readStart(), 0);
    const c = await client(port);
    const clientPort = c.localPort;
    await until(() => events.length > 0, 'the connection accepted');
    const [{ status, peer }] = events;
    assert.equal(status, 0);

    // The control: node:net's own accepted socket, reset the same way,
    // loses its peer address (getpeername asks the OS, which says ENOTCONN).
    const control = net.createServer({ pauseOnConnect: true });
    servers.push(control);
    control.listen(0, '127.0.0.1');
    await event(control, 'listening');
    const controlAccepted = event(control, 'connection');
    const controlClient = await client(control.address().port);
    const controlSocket = await controlAccepted;
    clients.push(controlSocket);
    controlSocket.on('error', () => {});

    // Neither accepted socket has been asked anything. Reset both connections.
    const ended = new Promise((resolve) => (peer.onread = resolve));
    c.resetAndDestroy();
    controlClient.resetAndDestroy();
    assert.equal(peer.readStart(), 0);
    // Linux reports the reset as ECONNRESET; Wine's Winsock ends the stream.
    const nread = await ended;
    assert.ok(nread === uvErrno('ECONNRESET') || nread === loadBinding().UV_EOF, `the accepted socket's read: ${nread}`);
    await until(() => controlSocket._handle.getpeername({}) < 0, "node:net's getpeername to fail after the reset", 10_000);

    const local = peer.getsockname();
    const remote = peer.getpeername();
    if (iocp) {
      // From GetAcceptExSockaddrs, kept by the accepted socket's engine.
      assert.ok(Buffer.isBuffer(remote), `getpeername after the reset: ${remote}`);
      assert.deepEqual(tcpLoopback.decode(remote), { family: 'AF_INET', address: '127.0.0.1', port: clientPort });
      assert.deepEqual(tcpLoopback.decode(local), { family: 'AF_INET', address: '127.0.0.1', port });
    } else {
      // The POSIX engine asks the socket (right on vsock): the same moment
      // the IOCP engine must survive is an error here.
      assert.equal(remote, uvErrno('ENOTCONN'));
      t.diagnostic('POSIX engine: accepted sockets ask the OS for their addresses, which fails after a reset');
    }
  });

  it('sets accept options on every accepted socket (Windows: on each accept socket when its AcceptEx is posted)', T, async () => {
    const { h, port, events } = listener();
    assert.equal(h.readStart(), 0); // Windows: POSTED_ACCEPTS accept sockets posted without options
    assert.equal(h.setAcceptOptions([SO_RCVTIMEO]), 0);
    const timeouts = [];
    for (let i = 0; i <= POSTED_ACCEPTS; i++) {
      await client(port);
      await until(() => events.length > i, `connection ${i} accepted`);
      const { status, peer } = events[i];
      assert.equal(status, 0);
      const value = peer.getsockopt(SO_RCVTIMEO.level, SO_RCVTIMEO.name, SO_RCVTIMEO.length);
      assert.ok(Buffer.isBuffer(value), `getsockopt: ${value}`);
      timeouts.push(SO_RCVTIMEO.ms(value));
    }
    const withOption = timeouts.filter((ms) => ms === RECEIVE_TIMEOUT_MS).length;
    if (iocp) {
      // The sockets posted before the call were made without it, the one
      // posted after (when the first accept completed) with it: the options
      // go on when the accept socket is posted, before AcceptEx, not on the
      // connection afterwards.
      assert.deepEqual({ withOption, without: timeouts.length - withOption }, { withOption: 1, without: POSTED_ACCEPTS });
    } else {
      assert.equal(withOption, timeouts.length, `receive timeouts: ${timeouts}`);
    }
    assert.equal(h.setAcceptOptions([{ level: 1, name: 2 }]), uvErrno('EINVAL'), 'an option without a value');
    assert.equal(h.setAcceptOptions('no list'), uvErrno('EINVAL'));
  });

  it('Server passes its accepted-socket options to the engine: one the OS refuses is an accept error', T, async () => {
    // The TCP transport, with the option Server would set for
    // connectedSuspend replaced by one no stack takes.
    const transport = { ...tcpLoopback, acceptedSocketOptions: () => [REFUSED_OPTION] };
    const refusing = new hvsock.Server({ [kTransport]: transport });
    try {
      refusing.listen({ port: 0 });
      await event(refusing, 'listening');
      const failed = event(refusing, 'error');
      // Windows reports it with no connection (no accept can be posted); POSIX when one arrives.
      if (!iocp) await client(refusing.address().port);
      const error = await failed;
      assert.equal(error.syscall, 'accept');
      assert.equal(error.code, REFUSED.code);
      assert.equal(error.errno, uvErrno(REFUSED.code));
      assert.equal(error.windowsError, REFUSED.windowsError);
      assert.equal(refusing.listening, true, 'still listening: it retries');
    } finally {
      refusing.close();
    }
  });

  it('a listener that can post no accept reports it once, keeps trying, and accepts again when the cause is gone', T, async (t) => {
    const before = process.report.getReport().libuv.length;
    const { h, port, events } = listener();
    assert.equal(h.readStart(), 0);
    // From now on no accept socket can be made: each one refuses the option.
    assert.equal(h.setAcceptOptions([REFUSED_OPTION]), 0);
    const failure = () => events.find((e) => e.status < 0);
    for (let i = 0; failure() === undefined; i++) {
      assert.ok(i <= POSTED_ACCEPTS, `no accept error after ${i} connections`);
      await client(port);
      await until(() => events.length > i, `connection ${i} handled`);
    }
    const error = failure();
    assert.equal(error.status, uvErrno(REFUSED.code));
    assert.equal(error.windowsError, REFUSED.windowsError ?? 0);
    const accepted = events.filter((e) => e.status === 0).length;
    // Windows: the accepts posted before keep working; the error comes when
    // the last of them is used and none can replace it. POSIX: the first
    // connection fails its setsockopt.
    assert.equal(accepted, iocp ? POSTED_ACCEPTS : 0);
    // Reported once, not at every retry (the IOCP engine retries every 100 ms).
    const waiting = await client(port);
    await sleep(500);
    assert.equal(events.filter((e) => e.status < 0).length, iocp ? 1 : 2, 'one error per failure, not per retry');

    // The cause goes away: the waiting connection (Windows: still in the
    // backlog) and a new one are accepted, without a readStart.
    assert.equal(h.setAcceptOptions([]), 0);
    const after = events.length;
    const late = await client(port);
    await until(() => events.slice(after).filter((e) => e.status === 0).length >= (iocp ? 2 : 1), 'the listener accepting again');
    t.diagnostic(`${accepted} accepted before the error, recovered after ${iocp ? 'the retry timer' : 'the next connection'}`);
    waiting.destroy();
    late.destroy();

    // Closing the listener leaves no handle behind (the retry timer included).
    h.close();
    for (const e of events) e.peer?.close();
    await until(() => process.report.getReport().libuv.length <= before, 'the listener\'s handles to close', 30_000);
  });

  it('a failed listen({ fd }) adoption leaves the caller\'s socket open and working', T, async () => {
    // A socket the engine already owns cannot be adopted a second time: on
    // Windows it is on our completion port already (CreateIoCompletionPort
    // refuses, ERROR_INVALID_PARAMETER), on POSIX libuv already watches it
    // (EEXIST). Both refusals come after the adoption has begun, which is
    // what this is about.
    const { h, port, events } = listener();
    assert.equal(h.readStart(), 0);
    const server = newServer();
    server.listen({ fd: h.fd });
    const error = await event(server, 'error');
    assert.equal(error.syscall, 'listen');
    assert.equal(error.code, iocp ? 'EINVAL' : 'EEXIST');
    if (iocp) assert.equal(error.windowsError, 87 /* ERROR_INVALID_PARAMETER */);
    assert.equal(server.listening, false);
    // The caller's socket was not closed: it still accepts.
    await client(port);
    await until(() => events.some((e) => e.status === 0), 'the caller\'s listener accepting');
    assert.ok(h.fd >= 0);
  });
});
