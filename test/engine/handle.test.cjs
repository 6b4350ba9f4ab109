// The native handle itself, below Socket and Server: the paths of the
// engine contract (native/engine.h) that the stream API reaches only rarely.
// Always over loopback TCP: these tests speak sockaddr_in to the handle.
'use strict';
const assert = require('node:assert/strict');
const { after, describe, it } = require('node:test');
const { tcpSockaddr: sockaddr, rawHandle: handle, rawListener, closeRawHandles, loadBinding, tcpLoopback, uvErrno, listen, connect, closeAll, event, sleep, until, pattern } = require('./helpers.cjs');

const T = { timeout: 60_000 };
const AF_INET = tcpLoopback.family;
const IPPROTO_TCP = tcpLoopback.protocol;
const handles = [];
after(async () => {
  for (const h of handles) h.close();
  closeRawHandles();
  await closeAll();
});

/** A listening handle on a free port. */
const listener = () => rawListener(16);

/** A client handle connected to `port`. */
async function connected(port) {
  const h = handle();
  assert.equal(h.open(AF_INET, IPPROTO_TCP), 0);
  const status = new Promise((resolve) => (h.onconnect = resolve));
  assert.equal(h.connect(sockaddr(port)), 0);
  assert.equal(await status, 0);
  return h;
}

describe('the native handle', { skip: process.env.HVSOCK_ENGINE_TRANSPORT === 'hyperv' && 'speaks sockaddr_in' }, () => {
  it('a stopped listener holds connections and hands them over, all of them, on readStart', T, async () => {
    const { h, port } = listener();
    const accepted = [];
    h.onconnection = (status, peer) => accepted.push([status, peer]);
    assert.equal(h.readStart(), 0); // on Windows this posts the AcceptEx calls
    assert.equal(h.readStop(), 0);
    const clients = [1, 2, 3].map(() => connect(port));
    await Promise.all(clients.map((c) => event(c, 'connect')));
    await sleep(200);
    assert.equal(accepted.length, 0, 'nothing is delivered while stopped');
    assert.equal(h.readStart(), 0);
    await until(() => accepted.length >= 3, 'three connections handed over');
    assert.equal(accepted.length, 3);
    for (const [status, peer] of accepted) {
      assert.equal(status, 0);
      handles.push(peer);
      assert.equal(tcpLoopback.decode(peer.getsockname()).port, port);
    }
    clients.forEach((c) => c.destroy());
  });

  it('writev skips empty chunks and reports completion at once or through onwrite', T, async () => {
    let received = Buffer.alloc(0);
    const { port } = await listen((socket) => socket.on('data', (d) => (received = Buffer.concat([received, d]))));
    const h = await connected(port);
    assert.equal(h.writev([]), 0);
    const done = new Promise((resolve) => (h.onwrite = resolve));
    const r = h.writev([Buffer.alloc(0), Buffer.from('abc'), Buffer.alloc(0), Buffer.from('def')]);
    assert.ok(r === 0 || r === 1, `writev returned ${r}`);
    if (r === 1) assert.equal(await done, 0); // always the case on Windows: overlapped WSASend
    await until(() => received.length >= 6, 'six bytes at the peer');
    assert.equal(received.toString(), 'abcdef');
  });

  it('one write at a time: a second writev while one is pending is EBUSY, and close silences the first', T, async () => {
    const { port } = await listen(() => {}, { pauseOnConnect: true }); // never reads
    const h = await connected(port);
    let called = false;
    h.onwrite = () => (called = true);
    assert.equal(h.writev(pattern(32 * 1024 * 1024)), 1, 'more than the OS buffers: pending');
    assert.equal(h.writev(Buffer.from('x')), uvErrno('EBUSY'));
    h.close();
    await sleep(100);
    assert.equal(called, false, 'no callback after close');
  });

  it('reports the peer and local addresses the OS filled in', T, async () => {
    const { port } = await listen(() => {});
    const h = await connected(port);
    assert.deepEqual(tcpLoopback.decode(h.getpeername()), { family: 'AF_INET', address: '127.0.0.1', port });
    assert.ok(tcpLoopback.decode(h.getsockname()).port > 0);
  });

  it('returns errors as negative numbers and never throws', T, () => {
    const h = handle();
    assert.equal(h.bind(sockaddr(0)), uvErrno('EBADF'), 'no socket yet');
    assert.equal(h.open(AF_INET, IPPROTO_TCP), 0);
    assert.equal(h.open(AF_INET, IPPROTO_TCP), uvErrno('EALREADY'));
    // The OS's own answer to an unknown level, passed through as its negative
    // libuv number. Linux (TCP over IPv4): setsockopt ENOPROTOOPT, getsockopt
    // EOPNOTSUPP (libuv's ENOTSUP); Winsock: WSAEINVAL, "level is unknown or invalid".
    const win = process.platform === 'win32';
    assert.equal(h.setsockopt(12345, 1, Buffer.alloc(4)), uvErrno(win ? 'EINVAL' : 'ENOPROTOOPT'), 'setsockopt at an unknown option level');
    assert.equal(h.getsockopt(12345, 1, 4), uvErrno(win ? 'EINVAL' : 'ENOTSUP'), 'getsockopt at an unknown option level');
    assert.equal(h.bind('not bytes'), uvErrno('EINVAL'));
    assert.equal(h.writev(['not bytes']), uvErrno('EINVAL'));
    h.close();
    assert.equal(h.readStart(), uvErrno('EBADF'));
    assert.equal(h.fd, -1);
    const stranger = handle();
    assert.ok(stranger.adopt(0x7ffffff0, AF_INET) < 0, 'adopting what is not a socket');
    assert.ok(handle().open(AF_INET, 12345) < 0, 'an unknown protocol');
  });
});
