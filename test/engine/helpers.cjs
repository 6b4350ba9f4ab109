// Plumbing for the engine suite: the package as users load it, on one of
// two transports (HVSOCK_ENGINE_TRANSPORT):
//   tcp     (default) the internal loopback-TCP transport, which drives the
//           same native engine where no hypervisor transport exists: Wine has
//           no AF_HYPERV, and this Linux machine has no vsock loopback
//           outside the project's VM;
//   hyperv  the public API over real AF_HYPERV to HV_GUID_LOOPBACK with
//           template service GUIDs (Windows with Hyper-V sockets only; the
//           GitHub Windows workflow runs the suite this way).
'use strict';
const { once } = require('node:events');
const net = require('node:net');
const path = require('node:path');
const hvsock = require('hvsock');
/** The host tools' entry point (service registry, VMs, WSL). */
const host = require('hvsock/host');

// Not reachable through the package's exports on purpose: found by path.
const internal = require(path.join(path.dirname(require.resolve('hvsock')), 'transport', 'tcp-loopback.js'));
const { kTransport, tcpLoopback, uvErrno } = internal;
/** The native binding itself, for tests of the engine below Socket and Server. */
const { loadBinding } = require(path.join(path.dirname(require.resolve('hvsock')), 'transport', 'native.js'));

const transport = process.env.HVSOCK_ENGINE_TRANSPORT || 'tcp';
if (transport !== 'tcp' && transport !== 'hyperv') throw new Error(`unknown HVSOCK_ENGINE_TRANSPORT ${transport}`);
if (transport === 'hyperv' && process.platform !== 'win32') {
  // On Linux the same calls would be vsock connections, which leave a machine
  // that is itself a VM. The VM suite (test/vm) covers vsock.
  throw new Error('the hyperv transport runs on Windows only');
}
const overTcp = transport === 'tcp';
const internalOptions = overTcp ? { [kTransport]: tcpLoopback } : {};

/** Hyper-V has no kernel-picked service IDs: pick template ports at random, away from common ones. */
function randomTemplatePort() {
  return 0x10000000 + Math.floor(Math.random() * 0x60000000);
}

/** Where a client reaches a server listening on `port`. */
function target(port) {
  return overTcp ? { port } : { vmId: hvsock.HV_GUID_LOOPBACK, port };
}

/** Servers the tests opened, with the connections each accepted. */
const servers = new Map();

/** A Server on the suite's transport, closed after the file's tests. */
function newServer(options = {}, onConnection = undefined) {
  const server = new hvsock.Server({ ...options, ...internalOptions }, onConnection);
  const peers = new Set();
  server.on('connection', (socket) => {
    peers.add(socket);
    socket.once('close', () => peers.delete(socket));
  });
  servers.set(server, peers);
  return server;
}

/** A server on a free port; resolves once listening. */
async function listen(onConnection, options = {}) {
  for (let attempt = 0; ; attempt++) {
    const server = newServer(options, onConnection);
    server.listen(overTcp ? { port: 0 } : target(randomTemplatePort()));
    const outcome = await new Promise((resolve) => {
      const onError = (error) => {
        server.off('listening', onListening);
        resolve(error);
      };
      const onListening = () => {
        server.off('error', onError);
        resolve(undefined);
      };
      server.once('error', onError).once('listening', onListening);
    });
    if (outcome === undefined) return { server, port: server.address().port };
    if (outcome.code !== 'EADDRINUSE' || attempt >= 5) throw outcome;
  }
}

/**
 * A port nobody listens on, that a test may listen on later. Over TCP it is
 * a loopback port a node:net server was just given and closed, chosen below
 * the ephemeral ranges (Linux 32768-60999, Windows 49152-65535): a port the
 * kernel just handed out by bind(0) can be handed out again as a client's
 * own port, and a TCP client whose own port is the one it dials connects to
 * itself (simultaneous open) instead of being refused. Windows node and the
 * IOCP engine bind to port 0 before ConnectEx; under Wine that happened once
 * in a few thousand refused connects. Over Hyper-V: a random template port
 * a Server here listened on and closed.
 */
async function refusedPort() {
  return overTcp ? refusedTcpPort() : refusedServicePort();
}

/** refusedPort() over loopback TCP whatever the suite's transport: for node:net and for forward targets. */
function refusedTcpPort() {
  return listenedAndClosed(
    () => 20_000 + Math.floor(Math.random() * 10_000),
    (port) => net.createServer().listen({ host: '127.0.0.1', port }),
  );
}

function refusedServicePort() {
  return listenedAndClosed(randomTemplatePort, (port) => new hvsock.Server(internalOptions).listen(target(port)));
}

/** A port from `pick()` that `open(port)` (a server, listening) got, once closed again; another pick while it is taken. */
async function listenedAndClosed(pick, open) {
  for (let attempt = 0; ; attempt++) {
    const port = pick();
    const server = open(port);
    const error = await new Promise((resolve) => server.once('listening', () => resolve(null)).once('error', resolve));
    if (error === null) {
      await new Promise((resolve) => server.close(resolve));
      return port;
    }
    if (error.code !== 'EADDRINUSE' || attempt >= 20) throw error;
  }
}

/** An unconnected Socket on the suite's transport. */
function newSocket(options = {}) {
  return new hvsock.Socket({ ...options, ...internalOptions });
}

function connect(port, options = {}) {
  return newSocket({ allowHalfOpen: options.allowHalfOpen }).connect({ ...target(port), ...options });
}

/** Everything a socket delivers until 'end', by events (never async iteration, which destroys the socket). */
function readAll(socket) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.once('end', () => resolve(Buffer.concat(chunks)));
    socket.once('error', reject);
  });
}

/**
 * Closes every server a test opened and destroys what they accepted: a
 * paused connection never sees its peer's end, and would hold close() open.
 */
async function closeAll() {
  const list = [...servers];
  servers.clear();
  await Promise.all(
    list.map(([server, peers]) => {
      const closed = server.listening ? event(server, 'close') : undefined;
      if (server.listening) server.close();
      for (const socket of peers) socket.destroy();
      return closed;
    }),
  );
}

/** Resolves with the first 'error' an emitter raises, or rejects if it closes cleanly first. */
function nextError(emitter) {
  return new Promise((resolve, reject) => {
    emitter.once('error', resolve);
    emitter.once('close', (hadError) => {
      if (!hadError) reject(new Error('closed without an error'));
    });
  });
}

/** The next `name` event's first argument; unlike events.once, an 'error' does not reject it. */
function event(emitter, name) {
  return new Promise((resolve) => emitter.once(name, resolve));
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Resolves once `condition()` holds, polled every few milliseconds; rejects
 * after `ceilingMs`. For waiting on something the engine does asynchronously:
 * the ceiling is a bound on a hang, never an expectation of speed (Wine and
 * emulated CPUs are slow, and the machine is shared).
 */
async function until(condition, what, ceilingMs = 30_000) {
  const deadline = Date.now() + ceilingMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`still waiting after ${ceilingMs} ms: ${what}`);
    await sleep(10);
  }
}

/** Resolves with `value` after `ms`, without keeping the process alive for it. */
function later(ms, value) {
  return new Promise((resolve) => setTimeout(resolve, ms, value).unref());
}

function pattern(length, seed = 1) {
  const out = Buffer.allocUnsafe(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

// The native handle itself, over loopback TCP (handle.test.cjs, accept.test.cjs).
const tcpSockaddr = (port) => tcpLoopback.resolve({ port }, port === 0 ? 'listen' : 'connect').sockaddr;
const rawHandles = [];

/** A new native SocketHandle, closed by closeRawHandles(). */
function rawHandle() {
  const h = new (loadBinding().SocketHandle)();
  rawHandles.push(h);
  return h;
}

/** A native handle listening on a free loopback TCP port. */
function rawListener(backlog) {
  const h = rawHandle();
  if (h.open(tcpLoopback.family, tcpLoopback.protocol) !== 0) throw new Error('open failed');
  if (h.bind(tcpSockaddr(0)) !== 0) throw new Error('bind failed');
  if (h.listen(backlog) !== 0) throw new Error('listen failed');
  return { h, port: tcpLoopback.decode(h.getsockname()).port };
}

function closeRawHandles() {
  for (const h of rawHandles.splice(0)) h.close();
}

module.exports = { refusedPort, refusedTcpPort, internalOptions, kTransport, tcpSockaddr, rawHandle, rawListener, closeRawHandles, hvsock, host, loadBinding, tcpLoopback, transport, target, uvErrno, listen, newServer, connect, newSocket, readAll, closeAll, nextError, event, later, sleep, until, pattern };
