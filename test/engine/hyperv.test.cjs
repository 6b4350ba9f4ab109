// The public API where the OS has no Hyper-V socket provider (Wine; a
// Windows without the Hyper-V feature): listen and connect with Hyper-V
// addresses fail with a clean, typed EAFNOSUPPORT from socket(), never a
// crash or a hang. The run under Wine sets HVSOCK_EXPECT_NO_HYPERV so these
// tests must run there. They never run off Windows, whatever the environment
// says: on Linux the same calls would open a real vsock connection, which only
// the project's VM may do (this machine's vsock reaches its own host).
'use strict';
const assert = require('node:assert/strict');
const { once } = require('node:events');
const { describe, it } = require('node:test');
const { hvsock, event, uvErrno } = require('./helpers.cjs');

// The platform comes first: a HVSOCK_EXPECT_NO_HYPERV leaked into a Linux run
// must not reach a connect.
const onWindows = process.platform === 'win32';
const expectAbsent = onWindows && process.env.HVSOCK_EXPECT_NO_HYPERV === '1';
const skip = expectAbsent
  ? false
  : onWindows
    ? 'only where AF_HYPERV is known to be absent (set HVSOCK_EXPECT_NO_HYPERV=1)'
    : 'Windows only: off Windows these addresses would be real vsock connections';
const T = { timeout: 30_000, skip };

/** The last line of defence before a Hyper-V address reaches the OS. */
function windowsOnly() {
  if (!onWindows) throw new Error(`refusing a Hyper-V socket call on ${process.platform}`);
}

describe('Hyper-V addresses without a Hyper-V socket provider', () => {
  it('runs on Windows, through the package entry and the win32 prebuild', T, async () => {
    assert.equal(process.platform, 'win32');
    const esm = await import('hvsock');
    assert.equal(esm.connect, hvsock.connect, 'import and require give the same implementation');
    assert.equal(typeof hvsock.createServer, 'function');
  });

  it('connect() to HV_GUID_LOOPBACK fails with EAFNOSUPPORT from socket()', T, async () => {
    windowsOnly();
    const serviceId = hvsock.serviceIdFromPort(5000);
    const client = hvsock.connect({ vmId: hvsock.HV_GUID_LOOPBACK, serviceId });
    const closed = event(client, 'close');
    const [error] = await once(client, 'error');
    assert.equal(error.code, 'EAFNOSUPPORT');
    assert.equal(error.errno, uvErrno('EAFNOSUPPORT'));
    assert.equal(error.syscall, 'socket');
    assert.equal(error.vmId, hvsock.HV_GUID_LOOPBACK);
    assert.equal(error.serviceId, serviceId);
    assert.equal(error.port, 5000);
    assert.equal(await closed, true);
  });

  it('connect() with every Hyper-V option still fails cleanly, after validating them', T, async () => {
    windowsOnly();
    assert.throws(() => hvsock.connect({ vmId: hvsock.HV_GUID_PARENT, port: 1, highVtl: 'yes' }), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => hvsock.connect({ vmId: hvsock.HV_GUID_PARENT, port: 1, connectTimeout: 300001 }), { code: 'ERR_OUT_OF_RANGE' });
    const client = hvsock.connect({
      vmId: hvsock.HV_GUID_PARENT,
      port: 1,
      connectTimeout: 300000,
      connectedSuspend: true,
      containerPassthru: true,
      highVtl: true,
    });
    const [error] = await once(client, 'error');
    assert.equal(error.code, 'EAFNOSUPPORT');
  });

  it('listen() on a template service GUID emits EAFNOSUPPORT on the server', T, async () => {
    windowsOnly();
    const server = hvsock.createServer();
    server.listen({ vmId: hvsock.HV_GUID_WILDCARD, serviceId: hvsock.serviceIdFromPort(5001), connectedSuspend: true });
    const [error] = await once(server, 'error');
    assert.equal(error.code, 'EAFNOSUPPORT');
    // socket() inside listen(): node:net names such failures 'listen'.
    assert.equal(error.syscall, 'listen');
    assert.equal(server.listening, false);
    assert.equal(server.address(), null);
  });

  it('a Linux-only address form is refused before anything reaches the OS', T, () => {
    windowsOnly();
    assert.throws(() => hvsock.connect({ cid: 3, port: 1 }), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => hvsock.connect({ vmId: hvsock.HV_GUID_LOOPBACK, port: 1, toHost: true }), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => hvsock.localCid(), { code: 'ENOSYS' });
  });
});
