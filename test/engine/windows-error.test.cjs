// The Windows error number beside every system error that came from
// Windows: `err.windowsError` on the error object (code and errno as node:net
// has them), `handle.windowsError` at the native handle, where it describes
// the last failing call or callback only. Off Windows neither exists.
// Which codes the Hyper-V-specific numbers get is unit-tested
// (test/unit/errors/windows.test.ts): Wine cannot produce them.
'use strict';
const assert = require('node:assert/strict');
const { after, describe, it } = require('node:test');
const { loadBinding, tcpLoopback, uvErrno, refusedPort, listen, connect, closeAll, nextError } = require('./helpers.cjs');

const T = { timeout: 60_000 };
const iocp = loadBinding().platform === 'win32';
after(closeAll);

describe('the Windows error number', () => {
  it('a refused connect is ECONNREFUSED with node:net\'s errno, and on Windows carries what Windows said', T, async () => {
    const port = await refusedPort();
    const error = await nextError(connect(port));
    assert.equal(error.code, 'ECONNREFUSED');
    assert.equal(error.errno, uvErrno('ECONNREFUSED'));
    assert.equal(error.syscall, 'connect');
    if (iocp) {
      // WSAECONNREFUSED as Winsock names it, or ERROR_CONNECTION_REFUSED as the kernel status maps.
      assert.ok([10061, 1225].includes(error.windowsError), `windowsError ${error.windowsError}`);
    } else {
      assert.equal('windowsError' in error, false);
    }
  });

  it('the native handle keeps it for its last failure only', { ...T, skip: process.env.HVSOCK_ENGINE_TRANSPORT === 'hyperv' && 'speaks sockaddr_in' }, () => {
    const h = new (loadBinding().SocketHandle)();
    try {
      assert.equal(h.windowsError, 0);
      assert.equal(h.open(tcpLoopback.family, tcpLoopback.protocol), 0);
      assert.ok(h.setsockopt(12345, 1, Buffer.alloc(4)) < 0);
      assert.equal(h.windowsError, iocp ? 10022 /* WSAEINVAL */ : 0);
      // A success clears it, and so does a failure the engine found itself.
      assert.equal(h.writev([]), 0);
      assert.equal(h.windowsError, 0);
      assert.ok(h.setsockopt(12345, 1, Buffer.alloc(4)) < 0);
      assert.equal(h.bind('not bytes'), uvErrno('EINVAL'));
      assert.equal(h.windowsError, 0);
    } finally {
      h.close();
    }
  });
});
