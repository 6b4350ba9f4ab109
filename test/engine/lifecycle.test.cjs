// Lifecycle over the engine: many connections at once, connect/close cycles
// that leave no libuv handle behind, ref/unref deciding whether a process
// may exit, worker threads with their own loops, and idle timeouts.
'use strict';
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const { once } = require('node:events');
const path = require('node:path');
const { after, describe, it } = require('node:test');
const { Worker } = require('node:worker_threads');
const net = require('node:net');
const { listen, connect, readAll, closeAll, event, later, until, rawListener, closeRawHandles } = require('./helpers.cjs');

const T = { timeout: 120_000 };
after(closeAll);
after(closeRawHandles);

/** libuv handles of this thread's loop, ours included (uv_poll on POSIX, uv_async on Windows), by address. */
function loopHandles() {
  return new Set(process.report.getReport().libuv.filter((h) => h.type !== 'timer').map((h) => h.address));
}

const sameSet = (a, b) => a.size === b.size && [...a].every((x) => b.has(x));

/**
 * The loop's handles once they have stopped changing: the same over half a
 * second of samples, or a failure after 60 s (a report alone takes seconds
 * under Wine).
 */
async function settledHandles() {
  let last = loopHandles();
  let since = Date.now();
  await until(
    () => {
      const now = loopHandles();
      if (sameSet(now, last)) return Date.now() - since >= 500;
      last = now;
      since = Date.now();
      return false;
    },
    'the loop handles to settle',
    60_000,
  );
  return last;
}

function child(fixture, ...args) {
  const proc = spawn(process.execPath, [path.join(__dirname, 'fixtures', fixture), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  // 'close', not 'exit': a child that exits right after saying it is ready
  // (unref-child.cjs does) may be reported as exited before its output has
  // been read; 'close' comes after its output.
  const exited = new Promise((resolve) => proc.once('close', (code) => resolve(code)));
  // A child that dies before it is ready fails the test at once instead of
  // leaving it waiting for output that never comes.
  const ready = new Promise((resolve, reject) => {
    proc.stdout.once('data', resolve);
    exited.then((code) => reject(new Error(`${fixture} exited with ${code} before it was ready`)));
  });
  return { proc, ready, exited };
}

describe('lifecycle over the engine', () => {
  it('serves 200 connections at once', T, async () => {
    const { port } = await listen((socket) => socket.pipe(socket));
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, i) => {
        const client = connect(port);
        const reply = readAll(client);
        client.end(`client ${i}`);
        return reply;
      }),
    );
    replies.forEach((reply, i) => assert.equal(reply.toString(), `client ${i}`));
  });

  it('leaves no libuv handle behind after 300 connect/close cycles', T, async () => {
    const { port } = await listen((socket) => socket.end());
    const before = await settledHandles();
    for (let i = 0; i < 300; i++) {
      const client = connect(port);
      client.resume();
      await event(client, 'close');
    }
    // Closing handles are released on later loop turns: waited for, with a
    // ceiling only against a leak. Handles are told apart by address: on
    // Windows an engine lives until the port has returned its operations, and
    // under Wine earlier tests' engines can still be going away (seconds later,
    // even after the count looked settled), so a count would only bound them.
    const leftBehind = () => [...loopHandles()].filter((address) => !before.has(address));
    await until(() => leftBehind().length === 0, 'the handles of 300 closed connections to go');
    assert.deepEqual(leftBehind(), []);
    // On POSIX a handle is gone once its socket has closed: nothing of
    // earlier tests lingers, and the loop is back to exactly where it was.
    if (process.platform !== 'win32') assert.equal(loopHandles().size, before.size);
  });

  for (const count of [1, 20]) {
    it(`lets a process exit when its server and ${count} connection(s) are unref()d`, T, async () => {
      // Five times: teardown with I/O still posted is where a race would hide.
      for (let run = 0; run < 5; run++) {
        const { ready, exited, proc } = child('unref-child.cjs', String(count));
        await ready;
        const code = await Promise.race([exited, later(20_000, 'still running')]);
        if (code === 'still running') proc.kill();
        assert.equal(code, 0, `run ${run}`);
      }
    });
  }

  it('lets a process exit once a paused socket has stopped reading, as node:net does', T, async () => {
    // One byte, on which the child pauses; then 1.5 times what its stream
    // buffers, in one piece: the socket reads it, stops reading
    // (readStop) and the kernel has nothing more for it, so no event will
    // ever come. With nothing else to do, node:net's process exits; so must ours.
    let peer;
    const server = net.createServer((socket) => {
      peer = socket.on('error', () => {});
      socket.write('x');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const outcomes = {};
      for (const how of ['net', 'hvsock-tcp']) {
        const { ready, exited, proc } = child('paused-child.cjs', how, String(server.address().port));
        const highWaterMark = Number(/^paused (\d+)\n$/.exec(String(await ready))?.[1]);
        assert.ok(highWaterMark > 0, how);
        peer.write(Buffer.alloc(highWaterMark * 1.5, 1));
        const code = await Promise.race([exited, later(10_000, 'still running')]);
        if (code === 'still running') proc.kill();
        outcomes[how] = code;
      }
      assert.deepEqual(outcomes, { net: 0, 'hvsock-tcp': 0 });
    } finally {
      server.close();
    }
  });

  // POSIX only (a listening descriptor passed to a child as fd 3), and defined
  // only there, so that no Windows run reports it skipped.
  if (process.platform !== 'win32') {
    it('takes a closed listener out of the loop when another process keeps its socket (listen({ fd }))', T, async () => {
      // As systemd: this process made the listening socket and keeps it; the
      // child adopts it, closes its server, and then connections queue on the
      // socket. Had the child closed its fd while still watching it, epoll would
      // keep reporting the (still open) socket readable to a loop that no
      // longer has a watcher for it: 100 % CPU.
      const { h, port } = rawListener(64);
      const proc = spawn(process.execPath, [path.join(__dirname, 'fixtures', 'adopted-close-child.cjs')], {
        stdio: ['pipe', 'pipe', 'inherit', h.fd],
      });
      try {
        const [line] = await once(proc.stdout, 'data');
        assert.equal(String(line), 'closed\n');
        const clients = Array.from({ length: 8 }, () => net.connect(port, '127.0.0.1').on('error', () => {}));
        await Promise.all(clients.map((c) => once(c, 'connect')));
        proc.stdin.write('measure\n');
        const [report] = await once(proc.stdout, 'data');
        const cpuMs = Number(/^cpu (\d+)/.exec(String(report))?.[1]);
        for (const c of clients) c.destroy();
        assert.ok(cpuMs < 250, `the child used ${cpuMs} ms of CPU in one idle second`);
      } finally {
        proc.kill();
      }
    });
  }

  it('keeps a process alive while a ref()d server listens', T, async () => {
    const { ready, exited, proc } = child('ref-child.cjs');
    await ready;
    const early = await Promise.race([exited, later(1500, 'alive')]);
    proc.kill();
    await exited;
    assert.equal(early, 'alive');
  });

  it('runs in worker threads with their own loops, and survives terminate() with sockets open', T, async () => {
    const workers = [1, 2].map((id) => new Worker(path.join(__dirname, 'fixtures', 'echo-worker.cjs'), { workerData: { id, rounds: 20 } }));
    const results = await Promise.all(workers.map((w) => once(w, 'message').then(([m]) => m)));
    assert.deepEqual(results, [{ echoed: 20 }, { echoed: 20 }]);
    await Promise.all(workers.map((w) => w.terminate()));
    // The main thread's engine is unaffected.
    const { port } = await listen((socket) => socket.end('still here'));
    assert.equal((await readAll(connect(port))).toString(), 'still here');
  });

  it("emits 'timeout' after the idle time and keeps the socket open", T, async () => {
    const { port } = await listen(() => {});
    const client = connect(port);
    await once(client, 'connect');
    const started = Date.now();
    client.setTimeout(200);
    await once(client, 'timeout');
    assert.ok(Date.now() - started >= 150);
    assert.equal(client.destroyed, false);
    client.destroy();
  });
});
