// Documented API details over the engine, each held to what docs/api.md says
// and, where hvsock mirrors it, to what node:net does: the idle timeout set
// by connect({ timeout }) and pushed back by activity, setTimeout(0),
// destroySoon(), a second connect() on one socket, ref() after unref(),
// listen(port, backlog, cb), listening twice, Server[Symbol.asyncDispose]
// and a listen signal that is already aborted. Timing assertions are lower
// bounds only: Wine and a loaded machine may be slow, never early.
'use strict';
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const { once } = require('node:events');
const path = require('node:path');
const { afterEach, describe, it } = require('node:test');
const { transport, target, listen, newServer, connect, readAll, closeAll, nextError, event, later, sleep, pattern } = require('./helpers.cjs');

const T = { timeout: 120_000 };

/** Timers may fire a little before Date.now() says the delay is over (libuv's cached loop time). */
const TIMER_SLACK_MS = 100;

/** A port for listen(port, …): the kernel's pick over TCP, a random template port over Hyper-V. */
function freshListenPort() {
  return transport === 'tcp' ? 0 : 0x10000000 + Math.floor(Math.random() * 0x60000000);
}

function child(mode) {
  const proc = spawn(process.execPath, [path.join(__dirname, 'fixtures', 'reref-child.cjs'), mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
  // A child that exits before it is set up (a broken ref() can let it) must not leave the test waiting.
  const ready = Promise.race([new Promise((resolve) => proc.stdout.once('data', resolve)), exited]);
  return { proc, ready, exited };
}

describe('documented API details over the engine', () => {
  // Each test's servers and connections go when it ends, not when the whole
  // run does: closed sockets' handles then drain during this file, and none
  // of them is still closing when a later file counts the loop's handles.
  afterEach(closeAll);

  describe('idle timeout', () => {
    it("connect({ timeout }) arms the idle timeout: 'timeout' once per idle spell, the socket stays open", T, async () => {
      const { port } = await listen((socket) => socket.resume());
      const started = Date.now();
      const client = connect(port, { timeout: 300 });
      let timeouts = 0;
      client.on('timeout', () => timeouts++);
      await once(client, 'connect');
      await event(client, 'timeout');
      assert.ok(Date.now() - started >= 300 - TIMER_SLACK_MS, `timed out after ${Date.now() - started} ms`);
      assert.equal(client.destroyed, false);
      assert.equal(client.readyState, 'open');
      // As node:net: a fired idle timer waits for activity before it can fire again.
      await sleep(1000);
      assert.equal(timeouts, 1);
      client.write('activity');
      const again = await Promise.race([event(client, 'timeout').then(() => 'timeout'), later(30_000, 'no timeout')]);
      assert.equal(again, 'timeout', 'activity did not re-arm the idle timer');
      assert.equal(timeouts, 2);
      client.destroy();
    });

    it("incoming data pushes the 'timeout' back: it comes only after the data stops", T, async () => {
      const IDLE_MS = 600;
      const { port } = await listen((socket) => {
        // 30 chunks, 50 ms apart: 1.5 s of activity, far beyond one idle period.
        let sent = 0;
        const timer = setInterval(() => {
          socket.write(`chunk ${sent}\n`);
          if (++sent === 30) clearInterval(timer);
        }, 50);
        socket.once('close', () => clearInterval(timer));
      });
      const client = connect(port);
      let lastData = 0;
      let chunks = 0;
      client.on('data', () => {
        lastData = Date.now();
        chunks++;
      });
      // Armed once data flows, so a slow connect cannot make the timer fire before any.
      await event(client, 'data');
      client.setTimeout(IDLE_MS);
      await event(client, 'timeout');
      const quiet = Date.now() - lastData;
      // Without the push-back the timer would fire IDLE_MS after setTimeout(), mid-stream.
      assert.ok(quiet >= IDLE_MS - TIMER_SLACK_MS, `'timeout' came ${quiet} ms after the last data (${chunks} chunks)`);
      client.destroy();
    });

    it("outgoing writes push the 'timeout' back too", T, async () => {
      const IDLE_MS = 600;
      const { port } = await listen((socket) => socket.resume());
      const client = connect(port);
      await once(client, 'connect');
      let lastWrite = 0;
      let writes = 0;
      let timedOut = false;
      client.once('timeout', () => (timedOut = true));
      client.setTimeout(IDLE_MS);
      while (writes < 30 && !timedOut) {
        lastWrite = Date.now();
        client.write(`write ${writes++}\n`);
        await sleep(50);
      }
      if (!timedOut) await event(client, 'timeout');
      const quiet = Date.now() - lastWrite;
      assert.ok(quiet >= IDLE_MS - TIMER_SLACK_MS, `'timeout' came ${quiet} ms after the last write (${writes} writes)`);
      client.destroy();
    });

    it('setTimeout(0) disables the idle timeout, also one set by connect({ timeout })', T, async () => {
      const { port } = await listen((socket) => socket.resume());
      const client = connect(port, { timeout: 100 });
      let timeouts = 0;
      client.on('timeout', () => timeouts++);
      client.setTimeout(0);
      await once(client, 'connect');
      client.setTimeout(100);
      client.setTimeout(0);
      await sleep(1000);
      assert.equal(timeouts, 0);
      // The socket can still time out when asked to: the check above saw a disabled timer, not a broken one.
      client.setTimeout(100);
      await event(client, 'timeout');
      assert.equal(timeouts, 1);
      client.destroy();
    });

    it('setTimeout(0, callback) also removes that callback, as node:net does', T, async () => {
      const { port } = await listen((socket) => socket.resume());
      const client = connect(port);
      await once(client, 'connect');
      let called = false;
      const callback = () => (called = true);
      client.setTimeout(100, callback);
      client.setTimeout(0, callback);
      client.setTimeout(150);
      await event(client, 'timeout');
      assert.equal(called, false);
      client.destroy();
    });
  });

  describe('destroySoon()', () => {
    for (const when of ['while connecting', 'once connected']) {
      it(`${when}: ends, flushes every write, then destroys; the peer gets all data, then end`, T, async () => {
        const data = pattern(4 * 1024 * 1024, when.length);
        let received;
        const { port } = await listen((socket) => {
          received = readAll(socket);
        });
        const client = connect(port);
        const events = [];
        for (const name of ['finish', 'end']) client.on(name, () => events.push(name));
        client.on('error', (error) => events.push(`error:${error.code}`));
        client.resume();
        if (when === 'once connected') await once(client, 'connect');
        client.write(data);
        client.destroySoon();
        assert.equal(client.writable, false, 'destroySoon() ends the writable side at once');
        const hadError = await event(client, 'close');
        assert.equal(hadError, false);
        assert.equal(client.destroyed, true);
        assert.equal(events[0], 'finish');
        assert.ok(!events.some((e) => e.startsWith('error')), events.join(' '));
        assert.equal(client.bytesWritten, data.length);
        assert.ok((await received).equals(data), 'the peer did not get every byte');
      });
    }

    it('on an accepted socket: the client reads everything the server wrote, then end', T, async () => {
      const data = pattern(4 * 1024 * 1024, 7);
      let serverClosed;
      const { port } = await listen((socket) => {
        serverClosed = event(socket, 'close');
        socket.write(data);
        socket.destroySoon();
      });
      const client = connect(port);
      const got = await readAll(client);
      assert.ok(got.equals(data));
      assert.equal(await serverClosed, false);
      client.destroy();
    });

    it('on a socket whose writes already finished: destroys it at once', T, async () => {
      // Neither side ends the other: only destroySoon() can close this client.
      const { port } = await listen((socket) => socket.resume(), { allowHalfOpen: true });
      const client = connect(port, { allowHalfOpen: true });
      client.resume();
      client.end('done');
      await once(client, 'finish');
      assert.equal(client.destroyed, false);
      client.destroySoon();
      assert.equal(client.destroyed, true);
      assert.equal(await event(client, 'close'), false);
    });
  });

  describe('connect() on a socket that has one', () => {
    // A connecting or connected socket refuses a second connect() with
    // ERR_SOCKET_CLOSED and stays as it was; a closed one connects again, as
    // with node:net (net-parity.test.cjs compares that with node:net).
    it('throws ERR_SOCKET_CLOSED while connecting and connected; the first connection is untouched; after close it connects again', T, async () => {
      const { port } = await listen((socket) => socket.pipe(socket));
      const client = connect(port);
      let lateListener = 0;
      assert.throws(() => client.connect(target(port), () => lateListener++), { name: 'Error', code: 'ERR_SOCKET_CLOSED' });
      assert.equal(client.connecting, true);
      await once(client, 'connect');
      assert.throws(() => client.connect(target(port), () => lateListener++), { code: 'ERR_SOCKET_CLOSED' });
      assert.equal(client.connecting, false);
      const reply = readAll(client);
      const closed = event(client, 'close');
      client.end('still the first connection');
      assert.equal((await reply).toString(), 'still the first connection');
      assert.equal(await closed, false);
      // A listener handed to a refused connect() was never added: 'connect' has come and gone.
      assert.equal(lateListener, 0);
      client.connect(target(port));
      assert.equal(client.connecting, true);
      const again = readAll(client);
      client.end('a second connection');
      assert.equal((await again).toString(), 'a second connection');
    });

    it('throws ERR_SOCKET_CLOSED on an accepted socket, which keeps working', T, async () => {
      let thrown;
      const { port } = await listen((socket) => {
        try {
          socket.connect(target(port));
        } catch (error) {
          thrown = error;
        }
        socket.end('accepted socket still fine');
      });
      assert.equal((await readAll(connect(port))).toString(), 'accepted socket still fine');
      assert.equal(thrown?.code, 'ERR_SOCKET_CLOSED');
    });
  });

  describe('ref() after unref()', () => {
    it('makes a server or a socket keep the process alive again (and the control exits)', T, async () => {
      const runs = ['server', 'socket', 'socket-early', 'control'].map((mode) => ({ mode, ...child(mode) }));
      const outcomes = await Promise.all(
        runs.map(async ({ mode, ready, exited, proc }) => {
          await ready;
          // The control must exit by itself; the others must still run well after it could have.
          const outcome = await Promise.race([exited, later(mode === 'control' ? 30_000 : 2000, 'alive')]);
          if (outcome === 'alive') proc.kill();
          await exited;
          return [mode, outcome];
        }),
      );
      assert.deepEqual(Object.fromEntries(outcomes), { server: 'alive', socket: 'alive', 'socket-early': 'alive', control: 0 });
    });
  });

  describe('Server.listen', () => {
    it('listen(port, backlog, callback): the backlog is taken, the callback runs on listening', T, async () => {
      const server = newServer({}, (socket) => socket.end('hello'));
      let sync = true;
      let calls = 0;
      let self;
      const listening = event(server, 'listening');
      const returned = server.listen(freshListenPort(), 7, function () {
        calls++;
        self = this;
        assert.equal(sync, false, 'the callback runs asynchronously');
      });
      sync = false;
      assert.equal(returned, server);
      await listening;
      assert.equal(calls, 1);
      assert.equal(self, server);
      assert.equal(server.listening, true);
      const { port } = server.address();
      assert.ok(port > 0);
      assert.equal((await readAll(connect(port))).toString(), 'hello');
      // The second positional argument really is the backlog: bad ones are refused as such.
      for (const backlog of [-1, 1.5]) {
        assert.throws(() => newServer().listen(freshListenPort(), backlog, () => {}), { code: 'ERR_OUT_OF_RANGE', message: /options\.backlog/ });
      }
      assert.throws(() => newServer().listen(freshListenPort(), true), { code: 'ERR_INVALID_ARG_TYPE', message: /options\.backlog/ });
      // A string there is the host, as in node:net's listen(port, host, backlog).
      assert.throws(() => newServer().listen(freshListenPort(), 'any', '7'), { code: 'ERR_INVALID_ARG_TYPE', message: /options\.backlog/ });
    });

    it('listen(port, callback) without a backlog works too', T, async () => {
      const server = newServer({}, (socket) => socket.end('no backlog'));
      await new Promise((resolve) => server.listen(freshListenPort(), resolve));
      assert.equal((await readAll(connect(server.address().port))).toString(), 'no backlog');
    });

    it('listening twice throws ERR_SERVER_ALREADY_LISTEN, as node:net; the server keeps its address', T, async () => {
      const { server, port } = await listen((socket) => socket.end('first'));
      let secondCallback = 0;
      assert.throws(() => server.listen(freshListenPort(), () => secondCallback++), {
        name: 'Error',
        code: 'ERR_SERVER_ALREADY_LISTEN',
        message: 'Listen method has been called more than once without closing.',
      });
      assert.equal(server.listening, true);
      assert.equal(server.address().port, port);
      assert.equal((await readAll(connect(port))).toString(), 'first');
      // Also before 'listening' has been emitted: listen() owns the socket at once.
      const early = newServer();
      const listening = event(early, 'listening');
      early.listen(freshListenPort());
      assert.throws(() => early.listen(freshListenPort()), { code: 'ERR_SERVER_ALREADY_LISTEN' });
      await listening;
      // After close() the same server may listen again, as with node:net.
      const closed = event(server, 'close');
      server.close();
      await closed;
      await new Promise((resolve) => server.listen(freshListenPort(), resolve));
      assert.equal((await readAll(connect(server.address().port))).toString(), 'first');
      assert.equal(secondCallback, 0);
    });

    it('an already-aborted signal: no listening, no error, just close; the server may listen later', T, async () => {
      const server = newServer({}, (socket) => socket.end('later'));
      const events = [];
      for (const name of ['listening', 'close', 'error']) server.on(name, () => events.push(name));
      let callback = 0;
      const closed = event(server, 'close');
      const returned = server.listen({ port: freshListenPort(), signal: AbortSignal.abort() }, () => callback++);
      assert.equal(returned, server);
      assert.equal(server.listening, false);
      await closed;
      // Anything that would follow (a late 'listening' or 'error') has had its turns.
      await sleep(200);
      assert.deepEqual(events, ['close']);
      assert.equal(callback, 0);
      assert.equal(server.listening, false);
      assert.equal(server.address(), null);
      server.removeAllListeners('listening');
      await new Promise((resolve) => server.listen(freshListenPort(), resolve));
      assert.equal((await readAll(connect(server.address().port))).toString(), 'later');
    });
  });

  describe('Server[Symbol.asyncDispose]', () => {
    it('closes a listening server: stops accepting at once, resolves after close', T, async () => {
      const { server, port } = await listen(() => {});
      assert.equal(typeof server[Symbol.asyncDispose], 'function');
      let closed = false;
      server.once('close', () => (closed = true));
      const disposed = server[Symbol.asyncDispose]();
      assert.ok(disposed instanceof Promise);
      assert.equal(server.listening, false);
      assert.equal(await disposed, undefined);
      assert.equal(closed, true);
      assert.equal(server.address(), null);
      assert.equal((await nextError(connect(port))).code, 'ECONNREFUSED');
    });

    it('waits for open connections before it resolves, as close() does', T, async () => {
      let peer;
      let onAccepted;
      const accepted = new Promise((resolve) => (onAccepted = resolve));
      const { server, port } = await listen((socket) => {
        peer = socket;
        socket.resume();
        onAccepted();
      });
      const client = connect(port);
      await accepted;
      let settled = false;
      const disposed = server[Symbol.asyncDispose]().then(() => (settled = true));
      await sleep(300);
      assert.equal(settled, false, 'resolved while a connection was still open');
      assert.equal(peer.destroyed, false);
      client.end();
      await disposed;
      assert.equal(settled, true);
      assert.equal(peer.destroyed, true);
    });

    it('resolves at once on a server that is not listening, without an error', T, async () => {
      const server = newServer();
      assert.equal(await server[Symbol.asyncDispose](), undefined);
      const { server: listened } = await listen(() => {});
      await listened[Symbol.asyncDispose]();
      assert.equal(await listened[Symbol.asyncDispose](), undefined);
    });
  });
});
