// hvsock/forward and `hvsock forward` with real sockets, and never an hvsock
// end: tcp: everywhere, unix: on Linux, pipe: (named pipes) on Windows and
// under Wine. What the issue asks of the forwarder as a pipe (issue 18):
// half-close both ways, a reset each way, backpressure with a stalled reader
// (its memory measured in a process of its own), the connection cap, redial
// to a target that starts late, the connect and idle timeouts, the listen
// end's address() and close(); and of the command: a drain on SIGTERM with a
// transfer in flight, a second SIGTERM resetting, SIGUSR1 stats, --json
// lines, config errors (one line, exit 2), the refused line. The command
// runs with the no-socket binding (fixtures/no-socket-binding.cjs), so it
// could not open an hvsock socket even by mistake. The hvsock ends
// themselves are the VM suite's (test/vm), where vsock is the project's own.
'use strict';
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { after, describe, it } = require('node:test');
const { forward } = require('hvsock/forward');
const { pattern, refusedTcpPort, rawListener, closeRawHandles, readAll, until, sleep } = require('../engine/helpers.cjs');

const T = { timeout: 120_000 };
const onWindows = process.platform === 'win32';
const onLinux = process.platform === 'linux';
/** The local end this OS has: unix sockets on Linux, named pipes on Windows. */
const LOCAL = onWindows ? 'pipe' : 'unix';
const CLI = path.join(path.dirname(require.resolve('hvsock')), 'cli', 'main.js');
const GUARD = path.join(__dirname, '..', 'engine', 'fixtures', 'no-socket-binding.cjs');
const CHILD_ENV = { ...process.env, HVSOCK_ADDON_PATH: GUARD };
/** A folder of the file's own (socket files, config files), made when first asked for: loading the file makes nothing. */
let tmpDir;
const tmp = () => (tmpDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'hvsock-fwd-')));
let serial = 0;

/** Undone after the file, last first: forwarders, servers, sockets, children. */
const cleanups = [];
after(async () => {
  for (const undo of cleanups.splice(0).reverse()) await undo();
  closeRawHandles();
  if (tmpDir !== undefined) fs.rmSync(tmpDir, { recursive: true, force: true });
});

/** A fresh local end's address: `unix:/tmp/…/n.sock` or `pipe:hvsock-fwd-<pid>-n`. */
function localEnd() {
  const n = ++serial;
  if (LOCAL === 'unix') {
    const file = path.join(tmp(), `${n}.sock`);
    return { text: `unix:${file}`, path: file };
  }
  const name = `hvsock-fwd-${process.pid}-${n}`;
  return { text: `pipe:${name}`, path: `\\\\.\\pipe\\${name}` };
}

/** Things that arrive one by one (connections): next() takes them in order, waiting when none is there. */
function queue() {
  const items = [];
  const waiters = [];
  return {
    push(item) {
      const waiter = waiters.shift();
      if (waiter === undefined) items.push(item);
      else waiter(item);
    },
    next: () => (items.length > 0 ? Promise.resolve(items.shift()) : new Promise((resolve) => waiters.push(resolve))),
    get length() {
      return items.length;
    },
  };
}

/**
 * A target: a node:net server on `kind` ('tcp', 'unix', 'pipe'), half-open
 * like the forwarder's sockets, closed after the file. `end` is how a
 * forward names it; next() is the next connection it accepted.
 */
async function targetServer(kind = 'tcp', options = {}) {
  const accepted = queue();
  const sockets = new Set();
  const server = net.createServer({ allowHalfOpen: true, ...options }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    accepted.push(socket);
  });
  const local = kind === 'tcp' ? undefined : localEnd();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(local === undefined ? { host: '127.0.0.1', port: options.port ?? 0 } : { path: local.path }, resolve);
  });
  cleanups.push(
    () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  const end = local === undefined ? `tcp:127.0.0.1:${server.address().port}` : local.text;
  return { server, end, next: accepted.next, sockets };
}

/**
 * forward(options), once listening (or rejecting with its listen error),
 * with what it told kept in order: records ('end'), refusals, retries,
 * errors. Closed at once after the file.
 */
async function startForward(options) {
  const f = forward(options);
  cleanups.push(() => f.close(0));
  f.records = queue();
  f.refusals = [];
  f.retries = [];
  f.errors = [];
  f.on('end', (record) => f.records.push(record));
  f.on('refused', (refusal) => f.refusals.push(refusal));
  f.on('retry', (retry) => f.retries.push(retry));
  await new Promise((resolve, reject) => {
    f.once('listening', resolve);
    f.on('error', (error) => {
      f.errors.push(error);
      reject(error);
    });
  });
  return f;
}

/** A client of a forward's listen end (or of a node:net address), half-open. */
function clientOf(where) {
  const address = typeof where.address === 'function' ? where.address() : where;
  const socket = net.connect(typeof address === 'string' ? { path: address, allowHalfOpen: true } : { host: address.address, port: address.port, allowHalfOpen: true });
  cleanups.push(() => socket.destroy());
  return socket;
}


/** Resolves once `length` bytes have come (taken by a 'data' listener of its own). */
function readBytes(socket, length) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let got = 0;
    const onData = (chunk) => {
      chunks.push(chunk);
      got += chunk.length;
      if (got >= length) {
        socket.removeListener('data', onData);
        socket.removeListener('error', reject);
        resolve(Buffer.concat(chunks));
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

/**
 * How a socket's reading ended: { error: its code, ended: false } once it
 * closed on an error (or without an end), { error: null, ended: true } at
 * its end (a half-open socket stays open after it: it is ended here).
 */
function outcome(socket) {
  return new Promise((resolve) => {
    let error = null;
    socket.on('error', (e) => (error = e));
    socket.on('data', () => {});
    socket.once('end', () => {
      socket.end();
      resolve({ error: null, ended: true });
    });
    if (socket.closed) resolve({ error: error?.code ?? null, ended: false });
    else socket.once('close', () => resolve({ error: error?.code ?? null, ended: false }));
  });
}

const closed = (socket) => (socket.closed ? Promise.resolve() : new Promise((resolve) => socket.once('close', resolve)));

/** Pairs of ends to run the pipe cases over: TCP both sides, then this OS's local end on each side. */
const PAIRS = [
  ['tcp', 'tcp'],
  [LOCAL, 'tcp'],
  ['tcp', LOCAL],
];

function listenText(kind) {
  return kind === 'tcp' ? 'tcp:0' : localEnd().text;
}

describe('hvsock/forward: the listen end', () => {
  it('address() is node:net\'s for tcp: (127.0.0.1 unless a host is given), and close() while idle resolves, emits close and frees the port', T, async () => {
    const target = await targetServer();
    const f = await startForward({ listen: 'tcp:0', target: target.end });
    const address = f.address();
    assert.equal(address.address, '127.0.0.1');
    assert.equal(address.family, 'IPv4');
    assert.ok(address.port > 0);
    assert.equal(f.listening, true);
    const closing = new Promise((resolve) => f.once('close', resolve));
    await f.close();
    await closing;
    assert.equal(f.listening, false);
    assert.deepEqual(f.stats(), { active: 0, total: 0, refused: 0, errors: 0, bytesIn: 0, bytesOut: 0 });
    const probe = clientOf(address);
    assert.equal((await outcome(probe)).error, 'ECONNREFUSED');
    // Closing again is the same promise, already settled.
    await f.close();
  });

  it('tcp:[::1]:0 binds IPv6 loopback where this machine has it; tcp:0.0.0.0:0 binds every address', T, async () => {
    const target = await targetServer();
    const any = await startForward({ listen: 'tcp:0.0.0.0:0', target: target.end });
    assert.equal(any.address().address, '0.0.0.0');
    await any.close();
    const hasIpv6Loopback = Object.values(os.networkInterfaces()).some((list) => (list ?? []).some((i) => i.address === '::1'));
    if (!hasIpv6Loopback) return;
    const f = await startForward({ listen: 'tcp:[::1]:0', target: target.end });
    assert.equal(f.address().address, '::1');
    assert.equal(f.address().family, 'IPv6');
    const client = clientOf(f);
    const reply = readAll(client);
    client.end('six');
    const t = await target.next();
    assert.equal((await readAll(t)).toString(), 'six');
    t.end('four');
    assert.equal((await reply).toString(), 'four');
    const record = await f.records.next();
    assert.match(record.peer, /^tcp:\[::1\]:\d+$/);
    await f.close();
  });

  it(`${LOCAL}: address() is the ${LOCAL === 'unix' ? 'socket path' : 'pipe path (\\\\.\\pipe\\NAME)'}, and close() removes it`, T, async () => {
    const target = await targetServer();
    const local = localEnd();
    const f = await startForward({ listen: local.text, target: target.end });
    assert.equal(f.address(), local.path);
    await f.close();
    assert.equal((await outcome(clientOf(local.path))).error, 'ENOENT');
  });

  it('close() before it listened resolves without ever listening', T, async () => {
    const f = forward({ listen: 'tcp:0', target: 'tcp:127.0.0.1:9' });
    let listened = false;
    f.on('listening', () => (listened = true));
    await f.close();
    assert.equal(listened, false);
    assert.equal(f.address(), null);
  });

  if (onLinux) {
    it('unix: a stale socket file (its listener killed) is reclaimed; a live one is left alone with EADDRINUSE', T, async () => {
      const target = await targetServer();
      const stale = localEnd();
      const owner = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale.path)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise((resolve) => owner.stdout.once('data', resolve));
      owner.kill('SIGKILL');
      await new Promise((resolve) => owner.once('exit', resolve));
      assert.ok(fs.statSync(stale.path).isSocket(), 'the killed listener left its socket file');
      const f = await startForward({ listen: stale.text, target: target.end });
      const client = clientOf(stale.path);
      const reply = readAll(client);
      client.end('through the reclaimed path');
      const t = await target.next();
      assert.equal((await readAll(t)).toString(), 'through the reclaimed path');
      t.end();
      await reply;

      const live = localEnd();
      // Its own clients (the forward's probe among them) may leave without reading.
      const server = net.createServer((socket) => socket.on('error', () => {}).end('live'));
      await new Promise((resolve) => server.listen(live.path, resolve));
      cleanups.push(() => new Promise((resolve) => server.close(resolve)));
      await assert.rejects(startForward({ listen: live.text, target: target.end }), (error) => {
        assert.equal(error.code, 'EADDRINUSE');
        assert.match(error.message, /in use by a running listener/);
        return true;
      });
      // The live listener still has its path.
      assert.equal((await readAll(clientOf(live.path))).toString(), 'live');
      await f.close();
    });
  }
});

describe('hvsock/forward: a pipe that loses nothing', () => {
  /** Bytes compared without printing a megabyte when they differ. */
  const same = (actual, expected, what) => assert.ok(actual.equals(expected), `${what}: ${actual.length} bytes, ${expected.length} expected, ${actual.equals(expected) ? 'equal' : 'different'}`);

  for (const [listen, targetKind] of PAIRS) {
    // A named pipe on Windows cannot stay half-open: under Wine its end()
    // closes it both ways, and what the other side sends after it is lost
    // (without a forward too). There the pipe cases check that each side's
    // end reaches the other after all the data; half-close is TCP's and
    // unix sockets'.
    if (onWindows && (listen === 'pipe' || targetKind === 'pipe')) {
      it(`${listen} -> ${targetKind}: data both ways, then the client's end reaches the target, whose end closes the connection`, T, async () => {
        const target = await targetServer(targetKind);
        const f = await startForward({ listen: listenText(listen), target: target.end });
        const request = pattern(300_000, 7);
        const response = pattern(1_000_000, 8);
        const client = clientOf(f);
        client.write(request);
        const t = await target.next();
        same(await readBytes(t, request.length), request, 'the request');
        t.write(response);
        same(await readBytes(client, response.length), response, 'the answer');
        const targetRest = readAll(t);
        const clientRest = readAll(client);
        client.end();
        assert.equal((await targetRest).length, 0, 'the client\'s end, after the request');
        t.end();
        assert.equal((await clientRest).length, 0, 'the target\'s end');
        await Promise.all([closed(client), closed(t)]);
        const record = await f.records.next();
        assert.equal(record.outcome, 'closed');
        assert.equal(record.bytesIn, request.length);
        assert.equal(record.bytesOut, response.length);
        assert.deepEqual(f.stats(), { active: 0, total: 1, refused: 0, errors: 0, bytesIn: request.length, bytesOut: response.length });
      });

      it(`${listen} -> ${targetKind}: the target's end, after its data, reaches the client`, T, async () => {
        const target = await targetServer(targetKind);
        const f = await startForward({ listen: listenText(listen), target: target.end });
        const greeting = pattern(200_000, 9);
        const client = clientOf(f);
        const clientGot = readAll(client);
        const t = await target.next();
        const targetGot = readAll(t);
        t.end(greeting);
        same(await clientGot, greeting, 'the greeting, then the target\'s end');
        client.end();
        assert.equal((await targetGot).length, 0);
        await Promise.all([closed(client), closed(t)]);
        const record = await f.records.next();
        assert.equal(record.outcome, 'closed');
        assert.equal(record.bytesOut, greeting.length);
      });
      continue;
    }

    it(`${listen} -> ${targetKind}: the client's end reaches the target; the answer sent after it still arrives; closed when both are done`, T, async () => {
      const target = await targetServer(targetKind);
      const f = await startForward({ listen: listenText(listen), target: target.end });
      const request = pattern(300_000, 7);
      const response = pattern(1_000_000, 8);
      const client = clientOf(f);
      const clientGot = readAll(client);
      client.end(request);
      const t = await target.next();
      same(await readAll(t), request, 'the request, then the client\'s end');
      t.end(response);
      same(await clientGot, response, 'the answer after the half-close');
      await Promise.all([closed(client), closed(t)]);
      const record = await f.records.next();
      assert.equal(record.outcome, 'closed');
      assert.equal(record.bytesIn, request.length);
      assert.equal(record.bytesOut, response.length);
      assert.equal(record.rule, `${f.rule.listen.text} -> ${target.end}`);
      assert.deepEqual(f.stats(), { active: 0, total: 1, refused: 0, errors: 0, bytesIn: request.length, bytesOut: response.length });
    });

    it(`${listen} -> ${targetKind}: the target's end reaches the client, who still sends after it`, T, async () => {
      const target = await targetServer(targetKind);
      const f = await startForward({ listen: listenText(listen), target: target.end });
      const greeting = pattern(200_000, 9);
      const after = pattern(500_000, 10);
      const client = clientOf(f);
      const clientGot = readAll(client);
      const t = await target.next();
      const targetGot = readAll(t);
      t.end(greeting);
      same(await clientGot, greeting, 'the greeting, then the target\'s end');
      client.end(after);
      same(await targetGot, after, 'what the client sent after the target ended');
      await Promise.all([closed(client), closed(t)]);
      const record = await f.records.next();
      assert.equal(record.outcome, 'closed');
      assert.equal(record.bytesIn, after.length);
      assert.equal(record.bytesOut, greeting.length);
    });
  }

  it('tcp -> tcp: a client reset resets the target (ECONNRESET there), recorded as a reset by the client', T, async () => {
    const target = await targetServer();
    const f = await startForward({ listen: 'tcp:0', target: target.end });
    const client = clientOf(f);
    client.write('before the reset');
    const t = await target.next();
    const ended = outcome(t);
    await readBytes(t, 'before the reset'.length);
    client.on('error', () => {});
    client.resetAndDestroy();
    assert.deepEqual(await ended, { error: 'ECONNRESET', ended: false });
    const record = await f.records.next();
    assert.equal(record.outcome, 'reset');
    assert.equal(record.side, 'client');
    assert.equal(record.error.code, 'ECONNRESET');
    assert.equal(f.stats().errors, 1);
  });

  it('tcp -> tcp: a target reset resets the client (ECONNRESET there), recorded as a reset by the target', T, async () => {
    const target = await targetServer();
    const f = await startForward({ listen: 'tcp:0', target: target.end });
    const client = clientOf(f);
    const ended = outcome(client);
    client.write('ping');
    const t = await target.next();
    await readBytes(t, 4);
    t.resetAndDestroy();
    assert.deepEqual(await ended, { error: 'ECONNRESET', ended: false });
    const record = await f.records.next();
    assert.equal(record.outcome, 'reset');
    assert.equal(record.side, 'target');
    assert.equal(f.stats().errors, 1);
  });

  it(`tcp -> ${LOCAL}: a client reset closes the ${LOCAL} target (it has no reset), and the forward goes on`, T, async () => {
    const target = await targetServer(LOCAL);
    const f = await startForward({ listen: 'tcp:0', target: target.end });
    const client = clientOf(f);
    client.write('x');
    const t = await target.next();
    const ended = outcome(t);
    await readBytes(t, 1);
    client.on('error', () => {});
    client.resetAndDestroy();
    assert.deepEqual(await ended, { error: null, ended: true }, `the ${LOCAL} target sees its end`);
    const record = await f.records.next();
    assert.equal(record.outcome, 'reset');
    assert.equal(record.side, 'client');
    // Still forwarding (both ways, before either end: a pipe cannot stay half-open).
    const next = clientOf(f);
    next.write('again');
    const t2 = await target.next();
    assert.equal((await readBytes(t2, 5)).toString(), 'again');
    t2.write('ok');
    assert.equal((await readBytes(next, 2)).toString(), 'ok');
    next.destroy();
  });

  it(`${LOCAL} -> tcp: a target reset closes the ${LOCAL} client`, T, async () => {
    const target = await targetServer();
    const f = await startForward({ listen: localEnd().text, target: target.end });
    const client = clientOf(f);
    const ended = outcome(client);
    client.write('x');
    const t = await target.next();
    await readBytes(t, 1);
    t.resetAndDestroy();
    assert.deepEqual(await ended, { error: null, ended: true }, `the ${LOCAL} client sees its end`);
    const record = await f.records.next();
    assert.equal(record.outcome, 'reset');
    assert.equal(record.side, 'target');
  });

  it(`idle timeout: a connection quiet for idleTimeout is cut on both sides (tcp client, ${LOCAL} target), recorded as idle`, T, async () => {
    const target = await targetServer(LOCAL);
    const f = await startForward({ listen: 'tcp:0', target: target.end, idleTimeout: 200 });
    const client = clientOf(f);
    const clientEnded = outcome(client);
    client.write('ping');
    const t = await target.next();
    const targetEnded = outcome(t);
    await readBytes(t, 4);
    t.write('pong');
    await readBytes(client, 4);
    const record = await f.records.next();
    assert.equal(record.outcome, 'idle');
    assert.equal(record.bytesIn, 4);
    assert.equal(record.bytesOut, 4);
    assert.equal((await clientEnded).error, 'ECONNRESET');
    assert.deepEqual(await targetEnded, { error: null, ended: true }, `the ${LOCAL} target sees its end`);
    assert.equal(f.stats().errors, 0);
  });
});

describe('hvsock/forward: limits and the target not there', () => {
  it('maxConnections: the N+1-th client is refused at once, counted, told as a refused event; a slot freed lets the next in', T, async () => {
    const target = await targetServer();
    const f = await startForward({ listen: 'tcp:0', target: target.end, maxConnections: 2 });
    const first = clientOf(f);
    const second = clientOf(f);
    const t1 = await target.next();
    await target.next();
    const third = clientOf(f);
    const thirdEnded = outcome(third);
    await thirdEnded;
    assert.equal(third.bytesRead, 0);
    assert.equal(f.refusals.length, 1);
    assert.equal(f.refusals[0].reason, 'limit');
    assert.equal(f.refusals[0].id, 3);
    assert.match(f.refusals[0].message, /^tcp:127\.0\.0\.1:\d+ is over the limit of 2 simultaneous connections$/);
    assert.deepEqual({ ...f.stats(), bytesIn: 0, bytesOut: 0 }, { active: 2, total: 2, refused: 1, errors: 0, bytesIn: 0, bytesOut: 0 });
    assert.equal(target.sockets.size, 2, 'the refused client never reached the target');
    first.end();
    t1.end();
    await f.records.next();
    const fourth = clientOf(f);
    const reply = readAll(fourth);
    fourth.end('in');
    const t4 = await target.next();
    assert.equal((await readAll(t4)).toString(), 'in');
    t4.end();
    await reply;
    second.destroy();
    assert.equal(f.stats().refused, 1);
  });

  it('redial: a target that starts 5 s late is reached, with retry events meanwhile', T, async () => {
    const port = await refusedTcpPort();
    const f = await startForward({ listen: 'tcp:0', target: `tcp:127.0.0.1:${port}`, redial: { timeout: 60_000, initialDelay: 100, maxDelay: 500 } });
    const client = clientOf(f);
    const reply = readAll(client);
    client.write('early');
    await until(() => f.retries.length > 0, 'the first retry');
    // The one deliberate wait: the target starts 5 s after the client came.
    await sleep(5000);
    const target = await targetServer('tcp', { port });
    const t = await target.next();
    client.end();
    assert.equal((await readAll(t)).toString(), 'early');
    t.end('late but there');
    assert.equal((await reply).toString(), 'late but there');
    const record = await f.records.next();
    assert.equal(record.outcome, 'closed');
    assert.ok(f.retries.length >= 2, `retries: ${f.retries.length}`);
    f.retries.forEach((retry, i) => {
      assert.equal(retry.attempt, i + 1);
      assert.equal(retry.error.code, 'ECONNREFUSED');
      assert.equal(retry.id, 1);
    });
  });

  it('without redial a target not there fails the connection at once: the client is closed, the failure recorded', T, async () => {
    const port = await refusedTcpPort();
    const f = await startForward({ listen: 'tcp:0', target: `tcp:127.0.0.1:${port}` });
    const client = clientOf(f);
    const ended = outcome(client);
    client.write('nobody');
    await ended;
    assert.equal(client.bytesRead, 0);
    const record = await f.records.next();
    assert.equal(record.outcome, 'failed');
    assert.equal(record.side, 'target');
    assert.equal(record.error.code, 'ECONNREFUSED');
    assert.equal(record.error.attempts, 1);
    assert.equal(f.retries.length, 0);
    assert.deepEqual(f.stats(), { active: 0, total: 1, refused: 0, errors: 1, bytesIn: 0, bytesOut: 0 });
  });

  // A listener whose accept queue is full drops a SYN on Linux, so the
  // connect hangs: the forward's connect timeout is what ends it. Windows
  // answers a full backlog with a refusal instead, so the case is Linux's.
  if (onLinux) {
    it('connectTimeout: a target that never answers (a full accept queue) fails with ETIMEDOUT after the timeout', T, async () => {
      const { port } = rawListener(1);
      // Two connections fill a backlog of 1 (Linux queues backlog + 1); nobody accepts them.
      const fillers = [clientOf({ address: '127.0.0.1', port }), clientOf({ address: '127.0.0.1', port })];
      await Promise.all(fillers.map((socket) => new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject))));
      const f = await startForward({ listen: 'tcp:0', target: `tcp:127.0.0.1:${port}`, connectTimeout: 300 });
      const client = clientOf(f);
      const ended = outcome(client);
      await ended;
      assert.equal(client.bytesRead, 0);
      const record = await f.records.next();
      assert.equal(record.outcome, 'failed');
      assert.equal(record.side, 'target');
      assert.equal(record.error.code, 'ETIMEDOUT');
      assert.match(record.error.message, /no answer within 300 ms/);
      assert.equal(f.stats().errors, 1);
    });
  }
});

describe('hvsock/forward: backpressure', () => {
  it('a stalled reader bounds the forwarder\'s memory while the client pushes 256 MiB; once it reads, every byte arrives', T, async () => {
    const CHUNK = 1024 * 1024;
    const CHUNKS = 256;
    const target = await targetServer('tcp', { pauseOnConnect: true });
    const child = spawn(process.execPath, [path.join(__dirname, 'fixtures', 'forward-child.cjs'), target.end], { stdio: ['pipe', 'pipe', 'inherit'], env: CHILD_ENV });
    cleanups.push(() => child.kill());
    const replies = lines(child.stdout, 'forward-child');
    let asked = 0;
    const ask = async () => {
      const index = replies.seen.length;
      child.stdin.write('stats\n');
      asked++;
      return JSON.parse(await replies.wait(() => true, 'its stats', index));
    };
    const ready = JSON.parse(await replies.wait(() => true, 'listening'));
    const baseline = ready.rss;

    const client = clientOf({ address: '127.0.0.1', port: ready.port });
    // 256 distinct 1 MiB views of one buffer: all of it queued at once, at no cost to this process.
    const base = pattern(CHUNK + 256, 11);
    const expected = crypto.createHash('sha256');
    for (let i = 0; i < CHUNKS; i++) {
      const chunk = base.subarray(i % 251, (i % 251) + CHUNK);
      expected.update(chunk);
      client.write(chunk);
    }
    client.end();
    const t = await target.next();

    // Stalled: the target reads nothing. The forwarder reads from the client
    // until its target socket is full, then stops; sample until what it has
    // read stays the same over 10 samples in a row.
    let peakStalled = baseline;
    let same = 0;
    let last = -1;
    let stalled;
    while (same < 10) {
      stalled = await ask();
      peakStalled = Math.max(peakStalled, stalled.rss);
      same = stalled.bytesIn === last ? same + 1 : 0;
      last = stalled.bytesIn;
      await sleep(50);
    }
    assert.ok(client.writableLength > 128 * CHUNK, `the client still has ${client.writableLength} bytes to send`);
    assert.ok(stalled.bytesIn < 64 * CHUNK, `the forwarder read ${stalled.bytesIn} bytes from the client while the reader stalled`);

    // The reader resumes: every byte arrives, in order.
    const hash = crypto.createHash('sha256');
    let received = 0;
    const done = new Promise((resolve, reject) => {
      t.on('data', (chunk) => {
        hash.update(chunk);
        received += chunk.length;
      });
      t.once('end', resolve);
      t.once('error', reject);
    });
    t.resume();
    let peakFlowing = stalled.rss;
    let finished = false;
    void done.then(() => (finished = true), () => (finished = true));
    while (!finished) {
      peakFlowing = Math.max(peakFlowing, (await ask()).rss);
      await sleep(50);
    }
    await done;
    const clientEnded = outcome(client);
    t.end();
    assert.deepEqual(await clientEnded, { error: null, ended: true });
    assert.equal(received, CHUNK * CHUNKS);
    assert.equal(hash.digest('hex'), expected.digest('hex'));
    const MiB = (n) => (n / 1024 / 1024).toFixed(1);
    process.stderr.write(
      `forward stalled reader: forwarder RSS ${MiB(baseline)} MiB at rest, +${MiB(peakStalled - baseline)} MiB at most while stalled ` +
        `(${MiB(stalled.bytesIn)} MiB read from the client by then), +${MiB(peakFlowing - baseline)} MiB at most while 256 MiB flowed; ${asked} samples\n`,
    );
    assert.ok(peakStalled - baseline < 64 * CHUNK, `the forwarder grew ${MiB(peakStalled - baseline)} MiB while the reader stalled`);
    assert.ok(peakFlowing - baseline < 64 * CHUNK, `the forwarder grew ${MiB(peakFlowing - baseline)} MiB while data flowed`);
    const final = await ask();
    assert.deepEqual([final.active, final.total, final.errors, final.bytesIn], [0, 1, 0, CHUNK * CHUNKS]);
    child.stdin.write('close\n');
    assert.equal(await new Promise((resolve) => child.once('exit', resolve)), 0);
  });
});

/**
 * The lines a child writes on a stream, as they come. wait(test, what, from)
 * resolves with the first line from index `from` that passes `test`, or
 * rejects when the stream ends without one (with every line seen).
 */
function lines(stream, name) {
  const seen = [];
  const waiters = [];
  let rest = '';
  let ended = false;
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    rest += chunk;
    for (let i = rest.indexOf('\n'); i !== -1; i = rest.indexOf('\n')) {
      seen.push(rest.slice(0, i).replace(/\r$/, ''));
      rest = rest.slice(i + 1);
    }
    for (const waiter of [...waiters]) waiter.check();
  });
  stream.on('end', () => {
    ended = true;
    for (const waiter of [...waiters]) waiter.check();
  });
  return {
    seen,
    wait(test, what, from = 0) {
      return new Promise((resolve, reject) => {
        const waiter = {
          check() {
            const found = seen.slice(from).find(test);
            if (found === undefined && !ended) return false;
            waiters.splice(waiters.indexOf(waiter), 1);
            if (found !== undefined) resolve(found);
            else reject(new Error(`${name} ended without ${what}; it wrote:\n${seen.join('\n')}`));
            return true;
          },
        };
        waiters.push(waiter);
        waiter.check();
      });
    },
  };
}

/** `hvsock forward ...args` in a child process with the no-socket binding; killed after the file if still running. */
function cli(args) {
  const child = spawn(process.execPath, [CLI, 'forward', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: CHILD_ENV });
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const exited = new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  return { child, out: lines(child.stdout, 'its stdout'), err: lines(child.stderr, 'its stderr'), exited };
}

/** The JSON lines of a --json run: each parses, and has time and event. */
function events(out) {
  return out.seen.map((line) => {
    const value = JSON.parse(line);
    assert.equal(typeof value.time, 'string');
    assert.ok(!Number.isNaN(Date.parse(value.time)), value.time);
    assert.equal(typeof value.event, 'string');
    return value;
  });
}

const isEvent = (name, check = () => true) => (line) => {
  const value = JSON.parse(line);
  return value.event === name && check(value);
};

describe('hvsock forward: the command', () => {
  it('--max-connections 1: the second client is refused at once with one line naming the rule, the peer and the limit', T, async () => {
    const target = await targetServer();
    const run = cli(['--max-connections', '1', 'tcp:0', target.end]);
    const listening = await run.err.wait((line) => line.includes('listening on'), 'its listening line');
    const [, host, port] = /^hvsock forward: tcp:0 -> tcp:127\.0\.0\.1:\d+: listening on tcp:(127\.0\.0\.1):(\d+), forwarding to tcp:127\.0\.0\.1:\d+$/.exec(listening) ?? [];
    assert.ok(port !== undefined, listening);
    const first = clientOf({ address: host, port: Number(port) });
    await target.next();
    const second = clientOf({ address: host, port: Number(port) });
    const secondEnded = outcome(second);
    const refused = await run.err.wait((line) => line.includes('refused'), 'a refused line');
    assert.match(refused, /^hvsock forward: tcp:0 -> tcp:127\.0\.0\.1:\d+: refused #2: tcp:127\.0\.0\.1:\d+ is over the limit of 1 simultaneous connections$/);
    await secondEnded;
    assert.equal(second.bytesRead, 0);
    first.destroy();
    run.child.kill();
  });

  it('config errors: each is one line on stderr naming the file, the rule and the field, exit 2, nothing listened', T, async () => {
    const file = (name, content) => {
      const where = path.join(tmp(), name);
      fs.writeFileSync(where, typeof content === 'string' ? content : JSON.stringify(content));
      return where;
    };
    const otherOs = onWindows ? { listen: 'unix:/run/x.sock', why: /Unix domain socket, which Node does not offer on Windows/ } : { listen: 'pipe:x', why: /is a Windows named pipe: on Linux write unix:PATH/ };
    const cases = [
      [['--config', file('not-json.json', '{"forwards": [')], /not-json\.json: not JSON: /],
      [['--config', file('empty.json', { forwards: [] })], /empty\.json: "forwards" must be a non-empty array/],
      [['--config', file('stray.json', { forwards: [{ listen: 'tcp:0', target: 'tcp:127.0.0.1:9' }], extra: 1 })], /stray\.json: "extra" is not a setting/],
      [['--config', file('no-target.json', { forwards: [{ name: 'a', listen: 'tcp:0', target: 'tcp:127.0.0.1:9' }, { name: 'b', listen: 'tcp:1' }] })], /no-target\.json: rule 2 \("b"\): "target" is required/],
      [['--config', file('bad-max.json', { forwards: [{ listen: 'tcp:0', target: 'tcp:127.0.0.1:9', maxConnections: 0 }] })], /bad-max\.json: rule 1: The value of "maxConnections" is out of range/],
      [['--config', file('same-name.json', { forwards: [{ name: 'web', listen: 'tcp:7001', target: 'tcp:127.0.0.1:9' }, { name: 'web', listen: 'tcp:7002', target: 'tcp:127.0.0.1:9' }] })], /same-name\.json: rule 2 \("web"\): the name "web" is rule 1's too/],
      [['--config', file('same-listen.json', { forwards: [{ listen: 'tcp:7001', target: 'tcp:127.0.0.1:9' }, { listen: 'tcp:127.0.0.1:7001', target: 'tcp:127.0.0.1:10' }] })], /same-listen\.json: rule 2: listens on tcp:127\.0\.0\.1:7001, as rule 1 does/],
      [['--config', file('lookups.json', { forwards: [{ listen: 'tcp:0', target: 'tcp:127.0.0.1:9', lookups: {} }] })], /lookups\.json: rule 1: "lookups" is an API option/],
      [['--config', file('other-os.json', { forwards: [{ listen: otherOs.listen, target: 'tcp:127.0.0.1:9' }] })], otherOs.why],
      [['--config', path.join(tmp(), 'missing.json')], /cannot read .*missing\.json: ENOENT/],
      [['--config', file('fine.json', { forwards: [{ listen: 'tcp:0', target: 'tcp:127.0.0.1:9' }] }), 'tcp:0', 'tcp:127.0.0.1:9'], /takes rules from --config or from the command line, not both/],
      [['--config', file('fine2.json', { forwards: [{ listen: 'tcp:0', target: 'tcp:127.0.0.1:9' }] }), '--max-connections', '3'], /--max-connections shapes rules given on the command line/],
      [['tcp:0'], /"tcp:0" has no target/],
    ];
    // All at once: Windows node starts slowly under Wine.
    const results = await Promise.all(
      cases.map(async ([args]) => {
        const run = cli(args);
        const { code } = await run.exited;
        return { args, code, out: run.out.seen, err: run.err.seen };
      }),
    );
    results.forEach(({ args, code, out, err }, i) => {
      const what = args.join(' ');
      assert.equal(code, 2, `${what}: ${err.join('\n')}`);
      assert.deepEqual(out, [], what);
      assert.equal(err.length, 1, `${what}: one line, got:\n${err.join('\n')}`);
      assert.match(err[0], /^hvsock forward: /, what);
      assert.match(err[0], cases[i][1], what);
    });
  });

  if (onLinux) {
    it('SIGTERM with a transfer in flight: stops listening, the transfer completes, exit 0; --json lines all parse', T, async () => {
      const target = await targetServer();
      const run = cli(['--json', 'tcp:0', target.end]);
      await run.out.wait(isEvent('ready'), 'ready');
      const listening = JSON.parse(await run.out.wait(isEvent('listening'), 'listening'));
      const [, port] = /^tcp:127\.0\.0\.1:(\d+)$/.exec(listening.listen) ?? [];
      assert.ok(port !== undefined, listening.listen);
      assert.equal(listening.target, target.end);
      const client = clientOf({ address: '127.0.0.1', port: Number(port) });
      client.write('request');
      const t = await target.next();
      await readBytes(t, 'request'.length);

      run.child.kill('SIGTERM');
      const draining = JSON.parse(await run.out.wait(isEvent('draining'), 'draining'));
      assert.equal(draining.signal, 'SIGTERM');
      assert.equal(draining.active, 1);
      // No new connections while draining: refused, or reset if it reached the queue as the listener closed.
      const late = await outcome(clientOf({ address: '127.0.0.1', port: Number(port) }));
      assert.ok(late.error === 'ECONNREFUSED' || late.error === 'ECONNRESET', `a connection while draining: ${JSON.stringify(late)}`);
      assert.equal(target.sockets.size, 1);

      // The transfer goes on after the signal: 8 MiB back, then both ends.
      const body = pattern(8 * 1024 * 1024, 12);
      const got = readAll(client);
      const rest = readAll(t);
      t.end(body);
      client.end();
      assert.ok((await got).equals(body), 'the answer arrived whole');
      assert.equal((await rest).length, 0);
      assert.deepEqual(await run.exited, { code: 0, signal: null });
      const all = events(run.out);
      assert.deepEqual(all.map((e) => e.event), ['listening', 'ready', 'draining', 'stats', 'closed']);
      const stats = all.find((e) => e.event === 'stats');
      assert.deepEqual({ ...stats, time: undefined }, { time: undefined, event: 'stats', rule: listening.rule, active: 0, total: 1, refused: 0, errors: 0, bytesIn: 7, bytesOut: body.length });
      assert.deepEqual(run.err.seen, []);
    });

    it('a second SIGTERM while draining resets what is left (the client sees ECONNRESET), logged as cut; exit 0', T, async () => {
      const target = await targetServer();
      const run = cli(['--json', '--verbose', 'tcp:0', target.end]);
      const listening = JSON.parse(await run.out.wait(isEvent('listening'), 'listening'));
      const port = Number(/(\d+)$/.exec(listening.listen)[1]);
      const client = clientOf({ address: '127.0.0.1', port });
      const clientEnded = outcome(client);
      client.write('hold');
      const t = await target.next();
      const targetEnded = outcome(t);
      await readBytes(t, 4);
      run.child.kill('SIGTERM');
      await run.out.wait(isEvent('draining'), 'draining');
      run.child.kill('SIGTERM');
      await run.out.wait(isEvent('cutting'), 'cutting');
      assert.deepEqual(await clientEnded, { error: 'ECONNRESET', ended: false });
      assert.deepEqual(await targetEnded, { error: 'ECONNRESET', ended: false });
      assert.deepEqual(await run.exited, { code: 0, signal: null });
      const end = events(run.out).find((e) => e.event === 'end');
      assert.equal(end.outcome, 'cut');
      assert.equal(end.bytesIn, 4);
      assert.match(end.peer, /^tcp:127\.0\.0\.1:\d+$/);
      assert.deepEqual(events(run.out).map((e) => e.event), ['listening', 'ready', 'connection', 'draining', 'cutting', 'end', 'stats', 'closed']);
    });

    it('SIGUSR1 prints each rule\'s counters and keeps forwarding', T, async () => {
      const target = await targetServer();
      const run = cli(['tcp:0', target.end]);
      const listening = await run.err.wait((line) => line.includes('listening on'), 'listening');
      const port = Number(/listening on tcp:127\.0\.0\.1:(\d+)/.exec(listening)[1]);
      const client = clientOf({ address: '127.0.0.1', port });
      client.write('12345');
      const t = await target.next();
      await readBytes(t, 5);
      run.child.kill('SIGUSR1');
      const stats = await run.err.wait((line) => line.includes('active'), 'stats');
      assert.match(stats, /^hvsock forward: tcp:0 -> tcp:127\.0\.0\.1:\d+: active 1, total 1, refused 0, errors 0, in 5 B, out 0 B$/);
      const reply = readAll(client);
      t.end('still here');
      client.end();
      assert.equal((await reply).toString(), 'still here');
      run.child.kill('SIGTERM');
      assert.deepEqual(await run.exited, { code: 0, signal: null });
      assert.equal(run.err.seen.at(-1), 'hvsock forward: closed');
    });
  }
});
