// Writes that outlive their socket: destroy() while a multi-MiB write is still
// under way, many times over, with the memory the write came from released and
// reused at once.
//
// On the IOCP engine an overlapped WSASend may read its buffers until the port
// returns it, which is after CancelIoEx + closesocket, so the engine must hold
// the JavaScript buffers until then; the POSIX engine stops reading them when
// close() returns. Checked here:
//   - IOCP: right after destroy() and a full GC the buffers are still alive
//     (the write has not come back from the port yet, so they must be);
//   - both: once the sockets are closed the buffers are collected (no
//     reference is kept forever), every write callback gets an error, every
//     'close' fires once, no libuv handle is left and the engine still works;
//   - both: what the peer receives is always a prefix of the pattern written,
//     also when the memory freed by the GC has just been filled with other
//     bytes: bytes read from freed memory would show up as garbage;
//   - both: an environment torn down with such writes posted (a terminated
//     worker, a process that exits with them unref()d) ends cleanly, the
//     engine dropping its references during the teardown.
'use strict';
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const path = require('node:path');
const v8 = require('node:v8');
const vm = require('node:vm');
const { Worker } = require('node:worker_threads');
const { after, describe, it } = require('node:test');
const { loadBinding, listen, connect, readAll, closeAll, event, later, sleep, pattern } = require('./helpers.cjs');

const ITERATIONS = 200;
// Larger than what loopback TCP buffers between a writer and a peer that
// does not read (send buffer up to 4 MiB plus the peer's receive window), so
// the write is always still under way when the socket is destroyed.
const SIZE = 8 * 1024 * 1024;
// Writes destroyed while the peer reads are twice as long (see mode 2).
const PATTERN = pattern(2 * SIZE, 0x5eed);
const GARBAGE = 0xee;
// Ceilings for conditions, never expectations of speed: the machine is shared.
const CEILING_MS = 60_000;
const T = { timeout: 10 * 60_000 };
after(closeAll);

const iocp = loadBinding().platform === 'win32';

/**
 * Code for a worker or a child process: a paused peer, two connections each
 * with a write of SIZE bytes it cannot finish, the first destroyed (its
 * write not yet back from the OS), the second left open; then READY.
 */
const PENDING_WRITES = `
const { listen, connect, event } = require(HELPERS);
(async () => {
  const { server, port } = await listen(undefined, { pauseOnConnect: true });
  const clients = [];
  for (let k = 0; k < 2; k++) {
    const client = connect(port);
    client.on('error', () => {});
    await event(client, 'connect');
    client.write(Buffer.alloc(SIZE, 0x61), () => {});
    clients.push(client);
  }
  await new Promise((resolve) => setImmediate(resolve));
  const pending = clients.map((c) => c.writableLength);
  clients[0].destroy();
  (READY)(server, clients[1], pending);
})();
`;

function pendingWrites(ready) {
  return PENDING_WRITES.replace('HELPERS', JSON.stringify(path.join(__dirname, 'helpers.cjs')))
    .replaceAll('SIZE', String(SIZE))
    .replace('READY', ready);
}

/**
 * A full, synchronous GC, with or without --expose-gc (the suite runs without
 * it): the flag, set now, gives the next new context its gc().
 */
function exposeGc() {
  if (typeof globalThis.gc === 'function') return globalThis.gc;
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc');
}
const gc = exposeGc();

/** libuv handles of this thread's loop, ours included (uv_poll on POSIX, uv_async on Windows). */
function loopHandles() {
  return process.report.getReport().libuv.filter((h) => h.type !== 'timer').length;
}

/** Resolves when `condition()` holds, checked once per loop turn; rejects after the ceiling. */
async function until(condition, what) {
  const deadline = Date.now() + CEILING_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`still waiting after ${CEILING_MS} ms: ${what}`);
    await sleep(5);
  }
}

/** One macrotask later: WeakRef targets touched in this one are no longer kept for it. */
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/**
 * Writes the pattern as one buffer or as two (a gathered write) and returns
 * only weak references to what was written: nothing here keeps the buffers
 * alive but the socket and the engine. `done` records each callback.
 */
function startWrite(socket, length, gathered, done) {
  const parts = gathered ? [PATTERN.subarray(0, length / 2), PATTERN.subarray(length / 2, length)] : [PATTERN.subarray(0, length)];
  // Copies of their own, so the GC can free them (PATTERN stays).
  const buffers = parts.map((p) => Buffer.from(p));
  socket.cork();
  for (const b of buffers) socket.write(b, done);
  socket.uncork();
  return buffers.map((b) => new WeakRef(b));
}

/**
 * destroy() with the write still under way (or, where the peer reads, maybe
 * just finished), a full GC, then the freed memory reused with other bytes.
 * On the IOCP engine the port has not returned the write by then (that
 * happens on a later loop turn), so its buffers must still be alive; the
 * check needs WeakRefs made in an earlier tick (`checkAlive`).
 */
function destroyWhileWriting(client, refs, i, checkAlive) {
  const underWay = client.writableLength > 0;
  client.destroy();
  gc();
  if (iocp && underWay && checkAlive) {
    refs.forEach((ref, k) => assert.notEqual(ref.deref(), undefined, `iteration ${i}: buffer ${k} freed while the write was still posted`));
  }
  const churn = [Buffer.alloc(SIZE, GARBAGE), Buffer.alloc(SIZE / 2, GARBAGE), Buffer.alloc(SIZE / 2, GARBAGE)];
  return { underWay, churn };
}

/** Everything a paused socket receives from now until it closes, after an end or an error. */
function collect(socket) {
  const chunks = [];
  socket.on('data', (chunk) => chunks.push(chunk));
  return new Promise((resolve) => socket.once('close', () => resolve(Buffer.concat(chunks))));
}

function firstDifference(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

describe('write lifetime over the engine', () => {
  it(`destroys a socket with a ${SIZE >> 20} MiB write under way, ${ITERATIONS} times, without freeing what the OS still reads`, T, async (t) => {
    const peers = [];
    const { server, port } = await listen(undefined, { pauseOnConnect: true });
    server.on('connection', (socket) => peers.push(socket));
    // Handles of earlier tests may still be closing.
    await sleep(200);
    const before = loopHandles();

    const writeRefs = [];
    const closes = [];
    const counts = { received: 0, sameTick: 0, whileRead: 0, whileReadUnderWay: 0 };
    const started = Date.now();
    for (let i = 0; i < ITERATIONS; i++) {
      const client = connect(port);
      const record = { i, client: 0, peer: 0, writeErrors: [], clientErrors: [] };
      closes.push(record);
      client.on('close', () => record.client++);
      client.on('error', (error) => record.clientErrors.push(error));
      await event(client, 'connect');
      await until(() => peers.length > 0, 'the peer of a connection');
      const peer = peers.shift();
      peer.on('close', () => record.peer++);
      peer.on('error', () => {}); // a reset after the client went is fine
      // Paused until resume(): data waits in the kernel.
      const collected = collect(peer);

      // 0: one buffer, destroyed a loop turn after the write, peer paused;
      // 1: the same as a gathered write (an array of buffers);
      // 2: one buffer twice as long, destroyed once the peer has read more
      //    than loopback buffers at once, so while the OS is taking further
      //    bytes from the buffer, after the call that posted the write;
      // 3: a gathered write, destroyed in the tick that wrote it.
      const mode = i % 4;
      const done = (error) => record.writeErrors.push(error ?? null);
      const length = mode === 2 ? 2 * SIZE : SIZE;
      const refs = startWrite(client, length, mode % 2 === 1, done);
      writeRefs.push(...refs);
      let outcome;
      if (mode === 2) {
        counts.whileRead++;
        outcome = await new Promise((resolve, reject) => {
          let seen = 0;
          const onData = (chunk) => {
            seen += chunk.length;
            if (seen < (3 * SIZE) / 4) return;
            peer.off('data', onData);
            try {
              resolve(destroyWhileWriting(client, refs, i, true));
            } catch (error) {
              reject(error);
            }
          };
          peer.on('data', onData);
          peer.resume();
        });
        if (outcome.underWay) counts.whileReadUnderWay++;
      } else {
        if (mode === 3) {
          counts.sameTick++;
        } else {
          // Let the engine and the kernel work on the write for a while.
          await nextTurn();
          await sleep(1);
        }
        assert.equal(client.writableLength, length, `iteration ${i}: the write is still under way`);
        // The WeakRefs made in this very tick keep their targets alive to its end.
        outcome = destroyWhileWriting(client, refs, i, mode !== 3);
        assert.ok(outcome.underWay);
        peer.resume();
      }

      assert.equal(record.writeErrors.length, refs.length, `iteration ${i}: every write callback ran, once`);
      if (outcome.underWay) {
        for (const error of record.writeErrors) assert.ok(error instanceof Error, `iteration ${i}: the write failed`);
      }

      const got = await Promise.race([collected, later(CEILING_MS, 'timeout')]);
      assert.notEqual(got, 'timeout', `iteration ${i}: the peer never closed`);
      outcome.churn = null;
      assert.ok(got.length <= length, `iteration ${i}: ${got.length} bytes received`);
      if (!got.equals(PATTERN.subarray(0, got.length))) {
        const at = firstDifference(got, PATTERN);
        assert.fail(`iteration ${i}: byte ${at} of ${got.length} received is ${got[at]}, not ${PATTERN[at]} (garbage: ${got[at] === GARBAGE})`);
      }
      counts.received += got.length;
      await until(() => record.client > 0, `iteration ${i}: the client closed`);
    }
    const elapsed = Date.now() - started;

    // Every write has come back from the OS by now, or will shortly: then
    // nothing may hold its buffers any more.
    await until(() => {
      gc();
      return writeRefs.every((ref) => ref.deref() === undefined);
    }, 'the written buffers to be collected');
    await until(() => loopHandles() <= before, 'the sockets\' handles to close');
    assert.equal(loopHandles(), before);
    for (const record of closes) {
      assert.equal(record.client, 1, `iteration ${record.i}: client 'close' once`);
      assert.equal(record.peer, 1, `iteration ${record.i}: peer 'close' once`);
      assert.deepEqual(record.clientErrors, [], `iteration ${record.i}: no 'error' on the destroyed socket`);
    }
    // With nothing at the peers this test would prove nothing.
    assert.ok(counts.received > 0);

    // The engine is unharmed.
    const echo = await listen((socket) => socket.pipe(socket));
    const client = connect(echo.port);
    const reply = readAll(client);
    client.end(PATTERN.subarray(0, 65536));
    assert.ok((await reply).equals(PATTERN.subarray(0, 65536)));

    t.diagnostic(
      `engine ${iocp ? 'IOCP' : 'POSIX'}: ${ITERATIONS} iterations in ${elapsed} ms (${ITERATIONS / 2} gathered writes, ` +
        `${counts.sameTick} destroyed in the write's own tick, ${counts.whileRead} while the peer read, ` +
        `${counts.whileReadUnderWay} of them with the write still under way); ` +
        `${(counts.received / 2 ** 20).toFixed(1)} MiB reached the peers, always a prefix of the pattern`,
    );
  });

  it('tears an environment down with writes still posted: 10 worker terminations, 5 processes exiting', T, async () => {
    const inWorker = pendingWrites('(server, client, pending) => require("node:worker_threads").parentPort.postMessage(pending)');
    for (let run = 0; run < 10; run++) {
      const worker = new Worker(inWorker, { eval: true });
      const errors = [];
      worker.on('error', (error) => errors.push(error));
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      const pending = await Promise.race([new Promise((resolve) => worker.once('message', resolve)), exited.then(() => 'exited')]);
      assert.deepEqual(pending, [SIZE, SIZE], `worker ${run}: both writes under way (${errors.map((e) => e.stack)})`);
      // At once: the destroyed socket's write may not be back yet either.
      await worker.terminate();
      assert.equal(await exited, 1, `worker ${run}`);
      assert.deepEqual(errors, [], `worker ${run}`);
    }
    const inProcess = pendingWrites('(server, client) => { server.unref(); client.unref(); process.stdout.write("ready\\n"); }');
    for (let run = 0; run < 5; run++) {
      const proc = spawn(process.execPath, ['-e', inProcess], { stdio: ['ignore', 'pipe', 'pipe'] });
      // 'close', not 'exit': only then has all its output been read.
      const exited = new Promise((resolve) => proc.once('close', (status) => resolve(status)));
      let out = '';
      let err = '';
      proc.stdout.on('data', (d) => (out += d));
      proc.stderr.on('data', (d) => (err += d));
      // It exits by itself: only unref()d handles are left, one with a write
      // posted, another closed with its write perhaps not back yet.
      const status = await Promise.race([exited, later(CEILING_MS, 'still running')]);
      if (status === 'still running') proc.kill();
      assert.deepEqual({ out, status, err }, { out: 'ready\n', status: 0, err: '' }, `process ${run}`);
    }
    // The main thread's engine is unaffected.
    const { port } = await listen((socket) => socket.end('still here'));
    assert.equal((await readAll(connect(port))).toString(), 'still here');
  });
});
