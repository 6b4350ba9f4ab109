// node:net's behaviour where hvsock used to differ (issue 17), each case run
// on node:net over TCP and on hvsock over the suite's transport in the same
// test, and the two outcomes compared: callbacks of writes made while
// connecting, bytesWritten of queued bytes, bufferSize and _connecting,
// reconnecting a closed socket, connect() without arguments, object modes,
// a write after the peer ended, server.close() with a non-function,
// captureRejections on a server.
'use strict';
const assert = require('node:assert/strict');
const events = require('node:events');
const net = require('node:net');
const v8 = require('node:v8');
const { afterEach, describe, it } = require('node:test');
const { hvsock, refusedPort, refusedTcpPort, internalOptions, transport, target, listen, newServer, newSocket, closeAll, event, later } = require('./helpers.cjs');

const T = { timeout: 60_000 };

/** A port for listen(port, …): the kernel's pick over TCP, a random template port over Hyper-V. */
function freshListenPort() {
  return transport === 'tcp' ? 0 : 0x10000000 + Math.floor(Math.random() * 0x60000000);
}

/** node:net servers the tests opened, closed after each test with their connections. */
const netServers = new Set();

async function closeNetServers() {
  const list = [...netServers];
  netServers.clear();
  await Promise.all(
    list.map((server) => {
      server.closeAllConnections?.();
      return new Promise((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
    }),
  );
}

/** A node:net server on loopback TCP; resolves once listening. */
async function netServer(onConnection, options = {}) {
  const server = net.createServer(options, (socket) => {
    server.sockets.add(socket);
    socket.once('close', () => server.sockets.delete(socket));
    onConnection(socket);
  });
  server.sockets = new Set();
  server.closeAllConnections = () => server.sockets.forEach((socket) => socket.destroy());
  netServers.add(server);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: server.address().port };
}

/** A node:net socket and an hvsock socket, connecting to ports of the same kind. */
function both(netPort, hvPort, options = {}) {
  return {
    node: net.connect({ port: netPort, host: '127.0.0.1', ...options }),
    hv: newSocket({ allowHalfOpen: options.allowHalfOpen }).connect({ ...target(hvPort), ...options }),
  };
}

/** Every callback and 'error' of two writes and an end() made while connecting, until 'close'. */
function pendingWriteOutcome(socket, act) {
  return new Promise((resolve) => {
    const seen = [];
    socket.on('error', (error) => seen.push(`error:${error.code}`));
    socket.write('a', (error) => seen.push(`write 1:${error?.code}`));
    socket.write('b', (error) => seen.push(`write 2:${error?.code}`));
    socket.end('c', (error) => seen.push(`end:${error?.code}`));
    act(socket);
    // Callbacks the stream calls on 'close' have had their turn a little after it.
    socket.once('close', () => setTimeout(() => resolve(seen), 50));
  });
}

describe("node:net's behaviour (issue 17)", () => {
  afterEach(async () => {
    await closeNetServers();
    await closeAll();
  });

  describe('writes made while connecting', () => {
    const cases = {
      'destroy()': (socket) => socket.destroy(),
      'destroy(error)': (socket) => socket.destroy(Object.assign(new Error('gone'), { code: 'EGONE' })),
      'a refused connect': () => {},
    };
    for (const [name, act] of Object.entries(cases)) {
      it(`${name}: every write callback and end()'s callback is called, with node:net's errors`, T, async () => {
        const netPort = await refusedTcpPort();
        const hvPort = await refusedPort();
        const sockets = both(netPort, hvPort);
        const [expected, actual] = await Promise.all([pendingWriteOutcome(sockets.node, act), pendingWriteOutcome(sockets.hv, act)]);
        // The first write is the one waiting for the connection: ERR_SOCKET_CLOSED_BEFORE_CONNECTION.
        assert.ok(expected.includes('write 1:ERR_SOCKET_CLOSED_BEFORE_CONNECTION'), expected.join(' '));
        assert.deepEqual(actual, expected);
      });
    }

    it('a promise-wrapped write settles when the connect fails', T, async () => {
      const socket = newSocket().connect(target(await refusedPort()));
      socket.on('error', () => {});
      const outcome = await Promise.race([
        new Promise((resolve) => socket.write('x', resolve)),
        later(10_000, 'still pending'),
      ]);
      assert.equal(outcome?.code, 'ERR_SOCKET_CLOSED_BEFORE_CONNECTION');
      assert.equal(outcome?.message, 'Socket closed before the connection was established');
    });
  });

  describe('bytesWritten, bufferSize, _connecting', () => {
    it('bytesWritten counts bytes written while corked and while connecting, as node:net', T, async () => {
      const data = Buffer.alloc(10 * 1024 * 1024, 1);
      const corked = { node: new net.Socket(), hv: newSocket() };
      for (const socket of Object.values(corked)) {
        socket.cork();
        socket.write(data);
      }
      assert.equal(corked.node.bytesWritten, data.length);
      assert.equal(corked.hv.bytesWritten, corked.node.bytesWritten);
      for (const socket of Object.values(corked)) socket.destroy();

      const { port: netPort } = await netServer((socket) => socket.resume());
      const { port: hvPort } = await listen((socket) => socket.resume());
      const sockets = both(netPort, hvPort);
      for (const socket of Object.values(sockets)) {
        socket.write('abc');
        socket.write(Buffer.alloc(5));
        socket.write('é', 'utf8');
      }
      assert.equal(sockets.node.bytesWritten, 10);
      assert.equal(sockets.hv.bytesWritten, sockets.node.bytesWritten);
      await Promise.all(Object.values(sockets).map((socket) => new Promise((resolve) => socket.end(resolve))));
      assert.equal(sockets.hv.bytesWritten, 10);
      for (const socket of Object.values(sockets)) socket.destroy();
    });

    it('reading bytesWritten, bufferSize or _connecting on Socket.prototype gives undefined, as node:net, not a throw', T, () => {
      for (const name of ['bytesWritten', 'bufferSize']) {
        assert.equal(net.Socket.prototype[name], undefined);
        assert.equal(hvsock.Socket.prototype[name], undefined, name);
      }
      assert.equal(hvsock.Socket.prototype._connecting, net.Socket.prototype._connecting);
    });

    it('bufferSize is writableLength once there is an OS socket (undefined before), _connecting is connecting', T, async () => {
      const idle = { node: new net.Socket(), hv: newSocket() };
      assert.equal(idle.node.bufferSize, undefined);
      assert.equal(idle.hv.bufferSize, undefined);
      assert.equal(idle.hv._connecting, false);
      const { port: netPort } = await netServer((socket) => socket.resume());
      const { port: hvPort } = await listen((socket) => socket.resume());
      const sockets = both(netPort, hvPort);
      for (const socket of Object.values(sockets)) socket.write(Buffer.alloc(1000));
      assert.equal(sockets.node._connecting, true);
      assert.equal(sockets.hv._connecting, true);
      assert.equal(sockets.node.bufferSize, 1000);
      assert.equal(sockets.hv.bufferSize, sockets.node.bufferSize);
      await Promise.all(Object.values(sockets).map((socket) => event(socket, 'connect')));
      assert.equal(sockets.hv._connecting, false);
      for (const socket of Object.values(sockets)) socket.destroy();
    });
  });

  describe('arguments', () => {
    it('connect() without arguments throws ERR_MISSING_ARGS (TypeError), as node:net', T, () => {
      const expected = (() => {
        try {
          new net.Socket().connect();
        } catch (error) {
          return error;
        }
      })();
      assert.equal(expected.code, 'ERR_MISSING_ARGS');
      for (const args of [[], [() => {}]]) {
        assert.throws(() => newSocket().connect(...args), {
          name: 'TypeError',
          code: 'ERR_MISSING_ARGS',
          message: 'The "options" or "port" or "address" argument must be specified',
        });
      }
      assert.throws(() => hvsock.connect(), { code: 'ERR_MISSING_ARGS' });
    });

    it('objectMode, readableObjectMode and writableObjectMode are refused with node:net\'s error', T, () => {
      for (const options of [{ objectMode: true }, { readableObjectMode: true }, { writableObjectMode: 1 }]) {
        let expected;
        assert.throws(() => new net.Socket(options), (error) => (expected = error) instanceof TypeError);
        assert.throws(() => newSocket(options), { name: 'TypeError', code: expected.code, message: expected.message });
      }
      // Turned off is no mode at all, for both.
      new net.Socket({ objectMode: false }).destroy();
      newSocket({ objectMode: false }).destroy();
    });

    it('server.close() with a non-function is ignored (no throw), as node:net', T, async () => {
      const { server: netSrv } = await netServer(() => {});
      const { server } = await listen(() => {});
      assert.equal(netSrv.close('not a function'), netSrv);
      assert.equal(server.close('not a function'), server);
      assert.equal(server.listening, false);
      const idle = newServer();
      assert.equal(idle.close(42), idle);
    });
  });

  describe('without new', () => {
    it('Socket() and Server() construct, as net.Socket() and net.Server(); instanceof, constructor and subclasses work', T, async () => {
      const expected = net.Socket();
      const socket = hvsock.Socket({ allowHalfOpen: true });
      assert.equal(expected instanceof net.Socket, true);
      assert.equal(socket instanceof hvsock.Socket, true);
      assert.equal(socket.constructor, hvsock.Socket);
      assert.equal(socket.allowHalfOpen, true);
      const server = hvsock.Server(() => {});
      assert.equal(server instanceof hvsock.Server, true);
      assert.equal(server.listenerCount('connection'), 1);
      assert.equal(hvsock.createServer() instanceof hvsock.Server, true);
      class Traced extends hvsock.Socket {
        traced() {
          return true;
        }
      }
      const traced = new Traced();
      assert.equal(traced instanceof hvsock.Socket && traced instanceof Traced && traced.traced(), true);
      // And one made without new works end to end.
      const { port } = await listen((peer) => peer.end('made without new'));
      const client = hvsock.Socket({ ...internalOptions }).connect(target(port));
      const chunks = [];
      client.on('data', (chunk) => chunks.push(chunk));
      await event(client, 'end');
      assert.equal(Buffer.concat(chunks).toString(), 'made without new');
      for (const s of [expected, socket, traced, client]) s.destroy();
    });

    it('new Socket() and new Server() share one object shape per class, as classes called directly do', T, () => {
      // A Proxy as new.target used to give every instance a V8 map (and a
      // chain of ~27 transitions) of its own: about 2.7 KiB per socket.
      v8.setFlagsFromString('--allow-natives-syntax');
      const sameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)');
      v8.setFlagsFromString('--no-allow-natives-syntax');
      const made = [new hvsock.Socket(), new hvsock.Socket(), hvsock.Socket()];
      for (const socket of made.slice(1)) assert.equal(sameMap(made[0], socket), true, 'two Sockets have the same shape');
      assert.equal(sameMap(new hvsock.Server(), new hvsock.Server()), true, 'two Servers have the same shape');
      class Traced extends hvsock.Socket {}
      assert.equal(sameMap(new Traced(), new Traced()), true, "a subclass's instances share theirs");
      assert.equal(sameMap(new Traced(), made[0]), false, 'a subclass keeps its own new.target');
      for (const socket of made) socket.destroy();
    });
  });

  describe('onread', () => {
    /** What a client with this onread gets of `data`: the bytes, the callbacks' sizes, 'data' events, whether 'end' came. */
    const run = (connectTo, data, makeBuffer, pauseFirst) =>
      new Promise((resolve) => {
        const parts = [];
        let calls = 0;
        let dataEvents = 0;
        let resumed = false;
        let socket;
        const callback = (nread, buffer) => {
          assert.ok(buffer instanceof Uint8Array);
          assert.ok(nread > 0 && nread <= buffer.length);
          parts.push(Buffer.from(buffer.subarray(0, nread)));
          calls++;
          if (pauseFirst && calls === 1) {
            // Reading stops here until resume(): nothing more may arrive meanwhile.
            setTimeout(() => {
              resumed = calls === 1;
              socket.resume();
            }, 300);
            return false;
          }
          return true;
        };
        socket = connectTo({ onread: { buffer: makeBuffer(), callback } });
        socket.on('data', () => dataEvents++);
        socket.once('end', () => resolve({ received: Buffer.concat(parts).equals(data), dataEvents, stayedPaused: pauseFirst ? resumed : null, many: calls > 1 }));
      });
    const data = Buffer.alloc(256 * 1024, 7);
    const cases = {
      'a static buffer': [() => Buffer.alloc(1000), false],
      'a buffer function, called for each read': [() => () => Buffer.alloc(4096), false],
      'a callback that returns false pauses until resume()': [() => Buffer.alloc(1000), true],
    };
    for (const [name, [makeBuffer, pauseFirst]] of Object.entries(cases)) {
      it(`${name}: reads land in the caller's buffer, no 'data', then 'end', as node:net`, T, async () => {
        const { port: netPort } = await netServer((socket) => socket.end(data));
        const { port: hvPort } = await listen((socket) => socket.end(data));
        const expected = await run((options) => net.connect({ port: netPort, host: '127.0.0.1', ...options }), data, makeBuffer, pauseFirst);
        assert.deepEqual(expected, { received: true, dataEvents: 0, stayedPaused: pauseFirst ? true : null, many: true });
        const actual = await run((options) => newSocket(options).connect(target(hvPort)), data, makeBuffer, pauseFirst);
        assert.deepEqual(actual, expected);
      });
    }

    it('a malformed onread throws (node:net ignores it)', T, () => {
      for (const onread of [{ buffer: 'x', callback() {} }, { buffer: Buffer.alloc(1) }, { buffer: Buffer.alloc(0), callback() {} }]) {
        assert.throws(() => newSocket({ onread }), TypeError);
      }
    });
  });

  describe('connect() again', () => {
    it('a closed socket connects again, as node:net, and reads the new connection', T, async () => {
      const { port: netPort } = await netServer((socket) => socket.end('hi'));
      const { port: hvPort } = await listen((socket) => socket.end('hi'));
      const run = async (socket, again) => {
        const got = [];
        socket.on('data', (chunk) => got.push(String(chunk)));
        socket.on('error', (error) => got.push(`error:${error.code}`));
        await event(socket, 'close');
        again();
        await event(socket, 'close');
        return { got, destroyed: socket.destroyed, bytesRead: socket.bytesRead };
      };
      const sockets = both(netPort, hvPort);
      const [expected, actual] = await Promise.all([
        run(sockets.node, () => sockets.node.connect(netPort, '127.0.0.1')),
        run(sockets.hv, () => sockets.hv.connect(target(hvPort))),
      ]);
      assert.deepEqual(expected.got, ['hi', 'hi']);
      assert.deepEqual(actual, expected);
    });
  });

  describe("a write after the peer's end", () => {
    it("with allowHalfOpen false: node:net's EPIPE 'This socket has been ended by the other party'", T, async () => {
      const { port: netPort } = await netServer((socket) => socket.end());
      const { port: hvPort } = await listen((socket) => socket.end());
      const run = (socket) =>
        new Promise((resolve) => {
          const seen = [];
          socket.on('error', (error) => seen.push(`error:${error.code}`));
          socket.resume();
          // After 'end' this side has ended itself too (allowHalfOpen false).
          socket.once('end', () =>
            setImmediate(() => {
              const returned = socket.write('late', (error) => {
                seen.push(`callback:${error?.code}:${error?.message}`);
                resolve({ seen, returned });
              });
            }),
          );
        });
      const sockets = both(netPort, hvPort);
      const [expected, actual] = await Promise.all([run(sockets.node), run(sockets.hv)]);
      assert.deepEqual(expected.seen, ['callback:EPIPE:This socket has been ended by the other party']);
      assert.deepEqual(actual, expected);
    });
  });

  describe('captureRejections', () => {
    it("a rejected async 'connection' listener destroys that socket with the error; the server carries on", T, async () => {
      const run = async (makeServer, connectTo, listenPort = 0) => {
        const thrown = new Error('kaboom');
        const socketErrors = [];
        const serverErrors = [];
        const previous = events.captureRejections;
        events.captureRejections = true;
        let server;
        try {
          server = makeServer(async (socket) => {
            socket.on('error', (error) => socketErrors.push(error));
            throw thrown;
          });
        } finally {
          events.captureRejections = previous;
        }
        server.on('error', (error) => serverErrors.push(error));
        const port = await new Promise((resolve) => server.listen(listenPort, () => resolve(server.address().port)));
        const client = connectTo(port);
        client.on('error', () => {});
        client.resume();
        // Without the capture the accepted socket stays open: bounded, so that shows as a failure, not a hang.
        if ((await Promise.race([event(client, 'close'), later(10_000, 'open')])) === 'open') client.destroy();
        if (server instanceof net.Server) netServers.add(server);
        return { socketErrors: socketErrors.map((error) => error === thrown), serverErrors: serverErrors.length, listening: server.listening };
      };
      const expected = await run(
        (listener) => net.createServer(listener),
        (port) => net.connect(port, '127.0.0.1'),
      );
      assert.deepEqual(expected, { socketErrors: [true], serverErrors: 0, listening: true });
      const actual = await run(
        (listener) => newServer({}, listener),
        (port) => newSocket().connect(target(port)),
        freshListenPort(),
      );
      assert.deepEqual(actual, expected);
      // The option does the same without the global default.
      let destroyedWith;
      const server = newServer({ captureRejections: true }, async (socket) => {
        socket.on('error', (error) => (destroyedWith = error.message));
        throw new Error('kaboom');
      });
      const port = await new Promise((resolve) => server.listen(freshListenPort(), () => resolve(server.address().port)));
      const client = newSocket().connect(target(port));
      client.on('error', () => {});
      client.resume();
      await event(client, 'close');
      assert.equal(destroyedWith, 'kaboom');
      assert.equal(server.listening, true);
    });
  });
});
