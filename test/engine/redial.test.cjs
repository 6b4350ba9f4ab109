// The `redial` connect option over the engine: one Socket through many
// attempts, each on a fresh OS socket, until the server appears or the time
// is up; abort and destroy during the wait; no handle left behind; the wait
// keeps the process alive as a connecting node:net socket does. Refusals here
// are real ones from the OS (loopback TCP, or AF_HYPERV loopback with
// HVSOCK_ENGINE_TRANSPORT=hyperv), so the POSIX and the IOCP engine both run it.
'use strict';
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { after, describe, it } = require('node:test');
const { hvsock, transport, target, refusedPort, uvErrno, newServer, newSocket, connect, readAll, closeAll, nextError, event, later, sleep, until } = require('./helpers.cjs');

const T = { timeout: 120_000 };
after(closeAll);

/** A server on `port` (closed after the file); resolves once listening, rejects on its error. */
async function listenOn(port, onConnection = () => {}) {
  const server = newServer({}, onConnection);
  server.listen(target(port));
  await new Promise((resolve, reject) => {
    server.once('listening', resolve).once('error', reject);
  });
  return server;
}

/** Events a socket emits, in order, for assertions about what happened and what did not. */
function record(socket) {
  const log = { connects: 0, errors: [], redials: [], closed: null };
  socket.on('connect', () => log.connects++);
  socket.on('error', (error) => log.errors.push(error));
  socket.on('redial', (info) => log.redials.push(info));
  socket.on('close', (hadError) => (log.closed = { hadError }));
  return log;
}

/** What a redial event must look like: attempts counted from 1, refusals with node:net fields. */
function checkRedials(redials, port, schedule) {
  redials.forEach((info, i) => {
    assert.equal(info.attempt, i + 1);
    assert.equal(info.error.code, 'ECONNREFUSED');
    assert.equal(info.error.errno, uvErrno('ECONNREFUSED'));
    assert.equal(info.error.syscall, 'connect');
    assert.equal(info.error.port, port);
    assert.ok(info.delay > 0 && info.delay <= schedule.maxDelay, `delay ${info.delay}`);
    // Only the last wait may shrink: it is cut short to land on the deadline.
    const last = i === redials.length - 1;
    if (i > 0 && !last) assert.ok(info.delay >= redials[i - 1].delay, `delays grow: ${redials.map((r) => r.delay)}`);
  });
}

/** libuv handles of this thread's loop (timers aside), by address: ours are uv_poll (POSIX) or uv_async (Windows). */
function loopHandles() {
  return new Set(process.report.getReport().libuv.filter((h) => h.type !== 'timer').map((h) => h.address));
}

/** Open descriptors, where the OS lists them (Linux); null elsewhere. */
function openFds() {
  return fs.existsSync('/proc/self/fd') ? fs.readdirSync('/proc/self/fd').length : null;
}

/**
 * Waits (with a ceiling against a hang) until no handle or descriptor is
 * left that was not there before. "No more than", not "the same": a server
 * closed just before the baseline may still be on its way out.
 */
async function backTo(handles, fds) {
  // A report takes seconds under Wine: a wide ceiling.
  await until(
    () => [...loopHandles()].every((h) => handles.has(h)) && (fds === null || openFds() <= fds),
    'the handles and descriptors of every attempt to be gone',
    60_000,
  );
}

describe('redial over the engine', () => {
  it('connects once the server starts listening; data written during the waits arrives', T, async () => {
    const port = await refusedPort();
    const schedule = { timeout: 60_000, initialDelay: 20, maxDelay: 200 };
    const client = connect(port, { redial: schedule });
    const log = record(client);
    client.write('written early, ');
    await until(() => log.redials.length >= 3, 'three refused attempts');
    assert.equal(client.connecting, true);
    assert.equal(client.pending, true);
    assert.equal(client.readyState, 'opening');
    await listenOn(port, (socket) => socket.pipe(socket));
    client.end('and late');
    const echoed = await readAll(client);
    assert.equal(echoed.toString(), 'written early, and late');
    assert.equal(log.connects, 1);
    assert.deepEqual(log.errors, []);
    checkRedials(log.redials, port, schedule);
    await until(() => log.closed !== null, "'close'");
    assert.deepEqual(log.closed, { hadError: false });
  });

  it('gives up when the time is up: one error, the last refusal, with node:net fields and the attempt count', T, async () => {
    const port = await refusedPort();
    const schedule = { timeout: 400, initialDelay: 20, maxDelay: 100 };
    const client = connect(port, { redial: schedule });
    const log = record(client);
    const closed = event(client, 'close');
    const error = await nextError(client);
    assert.equal(await closed, true);
    assert.equal(error.code, 'ECONNREFUSED');
    assert.equal(error.errno, uvErrno('ECONNREFUSED'));
    assert.equal(error.syscall, 'connect');
    assert.equal(error.port, port);
    assert.match(error.message, /^connect ECONNREFUSED/);
    assert.ok(error.attempts >= 2, `attempts ${error.attempts}`);
    assert.equal(error.attempts, log.redials.length + 1);
    checkRedials(log.redials, port, schedule);
    await sleep(50); // nothing follows the close
    assert.equal(log.errors.length, 1);
    assert.equal(log.connects, 0);
    assert.equal(client.destroyed, true);
    assert.equal(client.connecting, false);
  });

  it('abort during the wait: an AbortError at once, and no further attempt', T, async () => {
    const port = await refusedPort();
    const handles = loopHandles();
    const fds = openFds();
    const controller = new AbortController();
    const client = connect(port, { redial: { timeout: 60_000, initialDelay: 300 }, signal: controller.signal });
    const log = record(client);
    await event(client, 'redial');
    await new Promise((resolve) => setImmediate(resolve)); // well inside the 300 ms wait
    const failed = nextError(client);
    controller.abort(new Error('operator gave up'));
    const error = await failed;
    assert.equal(error.name, 'AbortError');
    assert.equal(error.code, 'ABORT_ERR');
    assert.equal(error.cause.message, 'operator gave up');
    await until(() => log.closed !== null, "'close'");
    assert.deepEqual(log.closed, { hadError: true });
    assert.equal(client.connecting, false);
    await backTo(handles, fds);
    // The wait that was cut short would have ended long before this.
    let accepted = 0;
    await listenOn(port, () => accepted++);
    await sleep(1000);
    assert.equal(accepted, 0);
    assert.equal(log.connects, 0);
    assert.equal(log.redials.length, 1);
  });

  it('destroy() during the wait closes quietly, and no further attempt is made', T, async () => {
    const port = await refusedPort();
    const client = connect(port, { redial: { timeout: 60_000, initialDelay: 300 } });
    const log = record(client);
    await event(client, 'redial');
    client.destroy();
    await until(() => log.closed !== null, "'close'");
    assert.deepEqual(log.closed, { hadError: false });
    assert.deepEqual(log.errors, []);
    let accepted = 0;
    await listenOn(port, () => accepted++);
    await sleep(1000);
    assert.equal(accepted, 0);
    assert.equal(log.connects, 0);
  });

  it('destroy() from a redial listener stops everything too', T, async () => {
    const port = await refusedPort();
    const client = connect(port, { redial: { timeout: 60_000, initialDelay: 1 } });
    const log = record(client);
    client.once('redial', () => client.destroy());
    await until(() => log.closed !== null, "'close'");
    await sleep(200);
    assert.equal(log.redials.length, 1);
    assert.deepEqual(log.errors, []);
  });

  it('leaves no handle or descriptor behind after dozens of attempts', T, async () => {
    const port = await refusedPort();
    const handles = loopHandles();
    const fds = openFds();
    const client = connect(port, { redial: { timeout: 600, initialDelay: 5, maxDelay: 10 } });
    const log = record(client);
    await event(client, 'close');
    assert.ok(log.redials.length >= 10, `only ${log.redials.length} redials`);
    assert.equal(log.errors.length, 1);
    await backTo(handles, fds);
  });

  it('throws for a bad redial option before anything is opened; the socket stays usable', T, async () => {
    const client = newSocket();
    assert.throws(() => client.connect({ ...target(1), redial: 'forever' }), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => client.connect({ ...target(1), redial: { timeout: 1, factor: 0 } }), { code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => client.connect({ port: -1, redial: 1000 }), (e) => e instanceof RangeError || e instanceof TypeError);
    assert.equal(client.connecting, false);
    const port = await refusedPort();
    await listenOn(port, (socket) => socket.end('ok'));
    client.connect({ ...target(port), redial: 1000 });
    assert.equal((await readAll(client)).toString(), 'ok');
  });

  for (const mode of ['ref', 'unref']) {
    it(`a redialing socket ${mode === 'ref' ? 'keeps the process alive, as a connecting node:net socket does' : 'lets the process exit once unref()d'}`, T, async () => {
      const port = await refusedPort();
      const child = spawn(process.execPath, [path.join(__dirname, 'fixtures', 'redial-child.cjs'), mode, String(port)], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let output = '';
      child.stdout.on('data', (chunk) => (output += chunk));
      const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
      await Promise.race([until(() => output.includes('waiting'), 'the child to redial'), exited]);
      const outcome = await Promise.race([exited, later(mode === 'ref' ? 1500 : 30_000, 'still running')]);
      if (outcome === 'still running') child.kill();
      await exited;
      assert.equal(outcome, mode === 'ref' ? 'still running' : 0, output);
      assert.doesNotMatch(output, /error/, 'the child gave up or failed instead of waiting');
    });
  }
});

// Only where AF_HYPERV is known to be missing (Windows under Wine): socket()
// itself fails there, which no redial can cure. Off Windows this address
// would be a real vsock connection, which only the project's VM may make.
const noHyperV = process.platform === 'win32' && process.env.HVSOCK_EXPECT_NO_HYPERV === '1';
describe('redial and errors that are not transient', () => {
  it('EAFNOSUPPORT from socket() fails at once, with one attempt and no redial', { ...T, skip: noHyperV ? false : 'Windows without AF_HYPERV only (the Wine run)' }, async () => {
    assert.equal(process.platform, 'win32');
    const client = hvsock.connect({ vmId: hvsock.HV_GUID_LOOPBACK, port: 5000, redial: 60_000 });
    const log = record(client);
    const error = await nextError(client);
    assert.equal(error.code, 'EAFNOSUPPORT');
    assert.equal(error.syscall, 'socket');
    assert.equal(error.attempts, 1);
    assert.deepEqual(log.redials, []);
  });
});
