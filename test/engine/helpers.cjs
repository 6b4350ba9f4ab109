// Plumbing for the engine suite: the package as users load it, plus the
// internal loopback-TCP transport that drives the same native engine where
// no hypervisor transport exists (Wine has no AF_HYPERV; this Linux machine
// has no vsock loopback outside the project's VM).
'use strict';
const { once } = require('node:events');
const path = require('node:path');
const hvsock = require('hvsock');

// Not reachable through the package's exports on purpose: found by path.
const internal = require(path.join(path.dirname(require.resolve('hvsock')), 'internal', 'tcp-transport.js'));
const { kTransport, tcpLoopback, uvErrno } = internal;

const servers = new Set();

/** A Server on the loopback transport, closed after the file's tests. */
function newServer(options = {}, onConnection = undefined) {
  const server = new hvsock.Server({ ...options, [kTransport]: tcpLoopback }, onConnection);
  servers.add(server);
  return server;
}

/** A server on a free loopback port; resolves once listening. */
async function listen(onConnection, options = {}) {
  const server = newServer(options, onConnection);
  server.listen({ port: 0 });
  await once(server, 'listening');
  return { server, port: server.address().port };
}

/** An unconnected Socket on the loopback transport. */
function newSocket(options = {}) {
  return new hvsock.Socket({ ...options, [kTransport]: tcpLoopback });
}

function connect(port, options = {}) {
  return newSocket({ allowHalfOpen: options.allowHalfOpen }).connect({ port, ...options });
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

/** Closes every server a test opened, and the connections they still hold. */
async function closeAll() {
  const list = [...servers];
  servers.clear();
  await Promise.all(
    list.map((server) => {
      if (!server.listening) return undefined;
      const closed = once(server, 'close');
      server.close();
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

module.exports = { hvsock, kTransport, tcpLoopback, uvErrno, listen, newServer, connect, newSocket, readAll, closeAll, nextError, event, later, sleep, pattern };
