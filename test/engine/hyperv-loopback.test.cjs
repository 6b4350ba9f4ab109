// What only real Hyper-V sockets can show, over HV_GUID_LOOPBACK with template
// service GUIDs (no registry entry needed): every Hyper-V socket option read
// back from a real AF_HYPERV socket after hvsock set it (and what the provider
// does with bufferSize's SO_SNDBUF/SO_RCVBUF, recorded), the four addresses of
// a loopback connection as go-winio's TestHvSockAddresses records them on
// GitHub's Windows runners, and the refused connect.
//
// These run only in `npm run test:hyperv` (HVSOCK_ENGINE_TRANSPORT=hyperv),
// which refuses to start off Windows or without the provider: the GitHub
// Windows workflow. They have not run on this project's own machines (Linux,
// and Wine, which has no AF_HYPERV); everywhere else each test is skipped
// with the reason printed. Off Windows nothing here may run at all: the same
// calls would be vsock connections out of the machine.
'use strict';
const assert = require('node:assert/strict');
const { once } = require('node:events');
const path = require('node:path');
const { getSystemErrorName } = require('node:util');
const { after, describe, it } = require('node:test');
const { hvsock, loadBinding, transport, listen, newServer, connect, closeAll, nextError, event, uvErrno } = require('./helpers.cjs');

const dist = path.dirname(require.resolve('hvsock'));
// Not public API: found by path, as helpers.cjs finds the binding.
const { platformFor, applySocketOptions, readBufferSize } = require(path.join(dist, 'transport', 'platform.js'));
const { connectTimeoutReader, HYPERV_FLAG_READERS, readOption } = require(path.join(dist, 'selftest', 'socket-options.js'));

const realHyperV = transport === 'hyperv' && process.platform === 'win32';
const skip = realHyperV
  ? false
  : process.platform === 'win32'
    ? 'needs real AF_HYPERV: runs in npm run test:hyperv (HVSOCK_ENGINE_TRANSPORT=hyperv); this run is over loopback TCP'
    : 'Windows only: needs real AF_HYPERV (npm run test:hyperv on Windows, as the GitHub Windows workflow runs it)';
const T = { timeout: 60_000, skip };
after(closeAll);

/** The last line of defence before a Hyper-V address reaches the OS. */
function windowsOnly() {
  if (!realHyperV) throw new Error(`refusing a real Hyper-V socket call (transport ${transport}, ${process.platform})`);
}

const win32 = platformFor('win32');

/** A fresh AF_HYPERV socket, closed after `use`. */
function withSocket(use) {
  windowsOnly();
  const handle = new (loadBinding().SocketHandle)();
  try {
    assert.equal(handle.open(hvsock.AF_HYPERV, hvsock.HV_PROTOCOL_RAW), 0, 'socket(AF_HYPERV)');
    return use(handle);
  } finally {
    handle.close();
  }
}

/** Reads an option; fails with the error's name rather than a bare number. */
function read(handle, reader) {
  const result = readOption(handle, reader);
  if ('errno' in result) assert.fail(`getsockopt(${reader.level}, ${reader.name}) failed with ${getSystemErrorName(result.errno)}`);
  return result.value;
}

/** A random template port among 2^30, as the engine suite picks them: nobody listens there. */
function randomTemplatePort() {
  return 0x10000000 + Math.floor(Math.random() * 0x60000000);
}

describe('Hyper-V socket options on a real AF_HYPERV socket', () => {
  // Each value is set the way connect() and listen() set it
  // (platform.socketOptions), then read back with getsockopt.
  for (const ms of [1, 2500, hvsock.HVSOCKET_CONNECT_TIMEOUT_MAX]) {
    it(`connectTimeout ${ms} ms reads back as ${ms} (HVSOCKET_CONNECT_TIMEOUT)`, T, (t) => {
      withSocket((handle) => {
        const reader = connectTimeoutReader('win32');
        t.diagnostic(`provider default HVSOCKET_CONNECT_TIMEOUT: ${read(handle, reader)} ms`);
        assert.equal(applySocketOptions(handle, win32.socketOptions({ connectTimeout: ms })), 0, 'setsockopt');
        assert.equal(read(handle, reader), ms);
      });
    });
  }

  for (const [name, reader] of Object.entries(HYPERV_FLAG_READERS)) {
    it(`${name}: true reads back as 1, on a socket that read 0 before`, T, (t) => {
      withSocket((handle) => {
        const before = read(handle, reader);
        t.diagnostic(`provider default for ${name}: ${before}`);
        assert.equal(before, 0);
        assert.equal(applySocketOptions(handle, win32.socketOptions({ [name]: true })), 0, 'setsockopt');
        assert.equal(read(handle, reader), 1);
      });
    });
  }

  // Whether the provider takes SO_SNDBUF/SO_RCVBUF is undocumented
  // (docs/hyperv-facts.md#buffer-sizes): each call's answer is recorded as a
  // diagnostic, and only what hvsock promises is asserted: a refusal never
  // fails the socket.
  it('bufferSize: SO_SNDBUF/SO_RCVBUF set as hints; what the provider answers is recorded', T, (t) => {
    withSocket((handle) => {
      const show = (n) => (n < 0 ? getSystemErrorName(n) : String(n));
      t.diagnostic(`provider default SO_RCVBUF: ${show(readBufferSize(handle, win32.bufferSizeOption))}`);
      for (const option of win32.socketOptions({ bufferSize: 1024 * 1024 })) {
        t.diagnostic(`setsockopt(${option.level}, ${option.name}, 1 MiB): ${show(handle.setsockopt(option.level, option.name, option.value))}`);
      }
      assert.equal(applySocketOptions(handle, win32.socketOptions({ bufferSize: 1024 * 1024 })), 0, 'an optional option never fails');
      t.diagnostic(`SO_RCVBUF after: ${show(readBufferSize(handle, win32.bufferSizeOption))}`);
    });
  });

  it('a listener and a client with bufferSize connect, echo, and say what each end holds', T, async (t) => {
    windowsOnly();
    const held = (socket) => {
      try {
        return String(socket.getBufferSize());
      } catch (error) {
        return error.code;
      }
    };
    let serverHolds = 'no connection';
    const server = newServer({}, (socket) => {
      serverHolds = held(socket);
      socket.pipe(socket);
    });
    const port = randomTemplatePort();
    server.listen({ vmId: hvsock.HV_GUID_LOOPBACK, port, bufferSize: 1024 * 1024 });
    await once(server, 'listening');
    const client = connect(port, { bufferSize: 1024 * 1024 });
    await once(client, 'connect');
    const clientHolds = held(client);
    const echoed = new Promise((resolve) => {
      const chunks = [];
      client.on('data', (chunk) => chunks.push(chunk));
      client.once('end', () => resolve(Buffer.concat(chunks)));
    });
    const payload = Buffer.alloc(4 * 1024 * 1024, 0x5a);
    client.end(payload);
    assert.equal((await echoed).equals(payload), true);
    t.diagnostic(`asked 1048576: the client holds ${clientHolds}, the accepted socket ${serverHolds}`);
  });

  it('a listener and a client with connectedSuspend and connectTimeout connect and echo over loopback', T, async () => {
    windowsOnly();
    // highVtl and containerPassthru are left out: they aim the connect at
    // another trust level or past a container, where no listener is.
    const server = newServer({}, (socket) => socket.pipe(socket));
    const port = randomTemplatePort();
    server.listen({ vmId: hvsock.HV_GUID_LOOPBACK, port, connectedSuspend: true });
    await once(server, 'listening');
    const client = connect(port, { connectedSuspend: true, connectTimeout: 5000 });
    await once(client, 'connect');
    const echoed = new Promise((resolve) => {
      const chunks = [];
      client.on('data', (chunk) => chunks.push(chunk));
      client.once('end', () => resolve(Buffer.concat(chunks).toString()));
    });
    client.end('suspend-proof hello');
    assert.equal(await echoed, 'suspend-proof hello');
  });
});

describe('loopback addresses, as go-winio records them', () => {
  it('client local {children, auto}, client remote the dialed address, server local {children, listener service}, server remote {loopback, client service}', T, async (t) => {
    windowsOnly();
    let accepted;
    const { server, port } = await listen((socket) => (accepted = socket));
    const serviceId = hvsock.serviceIdFromPort(port);
    assert.deepEqual(server.address(), { family: 'AF_HYPERV', address: 'loopback', vmId: hvsock.HV_GUID_LOOPBACK, serviceId, cid: 1, port });
    const client = connect(port);
    await once(client, 'connect');
    while (accepted === undefined) await new Promise((resolve) => setImmediate(resolve));
    const seen = {
      clientLocal: client.localHvAddress,
      clientRemote: client.remoteHvAddress,
      serverLocal: accepted.localHvAddress,
      serverRemote: accepted.remoteHvAddress,
    };
    t.diagnostic(`addresses: ${JSON.stringify(seen)}`);
    const clientService = seen.clientLocal.serviceId;
    assert.ok(hvsock.isGuid(clientService), 'the client got a service ID');
    assert.notEqual(clientService, serviceId);
    assert.equal(seen.clientLocal.vmId, hvsock.HV_GUID_CHILDREN, 'client local VM ID');
    assert.equal(seen.clientRemote.vmId, hvsock.HV_GUID_LOOPBACK, 'client remote VM ID');
    assert.equal(seen.clientRemote.serviceId, serviceId, 'client remote service');
    // From the AcceptEx buffer: getsockname on an accepted socket is arbitrary.
    assert.equal(seen.serverLocal.vmId, hvsock.HV_GUID_CHILDREN, 'server local VM ID');
    assert.equal(seen.serverLocal.serviceId, serviceId, 'server local service: the listener\'s');
    assert.equal(seen.serverRemote.vmId, hvsock.HV_GUID_LOOPBACK, 'server remote VM ID');
    assert.equal(seen.serverRemote.serviceId, clientService, 'server remote service: the client\'s');
    // The same as text, as node:net's accessors are strings.
    assert.equal(client.remoteAddress, 'loopback');
    assert.equal(client.remotePort, port);
    assert.equal(client.localAddress, 'children');
    assert.equal(accepted.localAddress, 'children');
    assert.equal(accepted.localPort, port);
    assert.equal(accepted.remoteAddress, 'loopback');
    client.destroy();
  });
});

describe('refused connect over loopback', () => {
  it('a loopback service nobody listens on: ECONNREFUSED with node:net fields, fast', T, async (t) => {
    windowsOnly();
    const port = randomTemplatePort();
    const serviceId = hvsock.serviceIdFromPort(port);
    const started = performance.now();
    // With a 10 s connect timeout, a provider that let the connect hang
    // would end in ETIMEDOUT after 10 s, not in ECONNREFUSED.
    const client = hvsock.connect({ vmId: hvsock.HV_GUID_LOOPBACK, serviceId, connectTimeout: 10_000 });
    const closed = event(client, 'close');
    const error = await nextError(client);
    const ms = performance.now() - started;
    t.diagnostic(`ECONNREFUSED after ${ms.toFixed(2)} ms (go-winio: within 2 ms)`);
    assert.equal(error.code, 'ECONNREFUSED');
    assert.equal(error.errno, uvErrno('ECONNREFUSED'));
    assert.equal(error.syscall, 'connect');
    assert.equal(error.vmId, hvsock.HV_GUID_LOOPBACK);
    assert.equal(error.serviceId, serviceId);
    assert.equal(error.message, `connect ECONNREFUSED loopback:${port}`);
    assert.equal(error.address, 'loopback');
    assert.equal(error.port, port);
    // A refusal is an answer, not a wait: far below the 10 s timeout even on a loaded runner.
    assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`);
    assert.equal(await closed, true);
  });
});
