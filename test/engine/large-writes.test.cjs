// Large writes and how a connection ends after them. The IOCP engine posts
// at most 1 MiB (and 1024 buffers) per WSASend and continues a write from
// where each completion left it, so every write here takes that path many
// times; the POSIX engine continues after each partial sendmsg. Checked on
// both: every byte arrives once and in order (a SHA-256 over everything the
// peer received), the write's callback comes once, after all of it; end()
// right after the writes, destroy() on 'finish', and allowHalfOpen: false
// closing the socket by itself all let the peer read everything and then
// EOF, also when it reads slowly and the data is still in the kernel at close.
'use strict';
const assert = require('node:assert/strict');
const { createHash } = require('node:crypto');
const { after, describe, it } = require('node:test');
const { loadBinding, tcpLoopback, uvErrno, listen, connect, closeAll, event, sleep, until, pattern } = require('./helpers.cjs');

const T = { timeout: 10 * 60_000 };
const MiB = 1024 * 1024;
const ROUNDS = 6;
// Larger than any one send the IOCP engine posts, and than what loopback
// buffers between writer and reader, at odd lengths so no boundary lines up.
const SOURCE = pattern(40 * MiB, 0x1a2b3c);
after(closeAll);

const sha256 = (...buffers) => {
  const hash = createHash('sha256');
  for (const b of buffers) hash.update(b);
  return hash.digest('hex');
};

/** The writes of one round: one big buffer, a gathered write of uneven parts, or 2,000 small parts. */
function plan(round) {
  const offset = (round * 7919) % MiB;
  switch (round % 3) {
    case 0:
      return [SOURCE.subarray(offset, offset + 16 * MiB + 12345)];
    case 1: {
      const cuts = [offset, offset + MiB - 1, offset + 8 * MiB + 3, offset + 17 * MiB + 5, offset + 33 * MiB + 77];
      return cuts.slice(1).map((end, i) => SOURCE.subarray(cuts[i], end));
    }
    default:
      // More buffers than one WSASend takes, in one writev.
      return Array.from({ length: 2000 }, (_, i) => SOURCE.subarray(offset + i * 8200, offset + (i + 1) * 8200 - (i % 7)));
  }
}

/** Hash and length of everything a socket delivers until 'end'; rejects on an error or a close without 'end'. */
function digest(socket, { pauseMs = 0 } = {}) {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    let length = 0;
    socket.on('data', (chunk) => {
      hash.update(chunk);
      length += chunk.length;
    });
    socket.once('end', () => resolve({ length, sha256: hash.digest('hex') }));
    socket.once('error', reject);
    socket.once('close', () => reject(new Error(`closed without 'end' after ${length} bytes`)));
    if (pauseMs > 0) {
      // Let the writer fill every buffer and finish (or close) first.
      socket.pause();
      setTimeout(() => socket.resume(), pauseMs);
    }
  });
}

/** Writes the parts as one write or one gathered write; resolves with the callbacks' errors. */
function writeParts(socket, parts) {
  const results = [];
  socket.cork();
  for (const part of parts) socket.write(part, (error) => results.push(error ?? null));
  socket.uncork();
  return { results, total: parts.reduce((n, p) => n + p.length, 0), sha256: sha256(...parts) };
}

describe('large writes over the engine', () => {
  it(`${ROUNDS} rounds of 16-33 MiB writes, then end() at once: the peer reads every byte, in order, then EOF`, T, async (t) => {
    const received = [];
    const { port } = await listen((socket) => received.push(digest(socket)));
    let bytes = 0;
    const started = Date.now();
    for (let round = 0; round < ROUNDS; round++) {
      const client = connect(port);
      await event(client, 'connect');
      await until(() => received.length > round, `round ${round}: the server's connection`);
      const sent = writeParts(client, plan(round));
      client.end();
      const got = await received[round];
      assert.deepEqual(got, { length: sent.total, sha256: sent.sha256 }, `round ${round}`);
      // Each callback once, without an error, and all of them by 'finish'.
      if (!client.writableFinished) await event(client, 'finish');
      assert.equal(sent.results.length, plan(round).length, `round ${round}: write callbacks`);
      assert.ok(sent.results.every((e) => e === null), `round ${round}: ${sent.results.find((e) => e)}`);
      assert.equal(client.bytesWritten, sent.total);
      bytes += sent.total;
      client.destroy();
    }
    t.diagnostic(`${(bytes / MiB).toFixed(1)} MiB in ${Date.now() - started} ms (${loadBinding().platform} engine)`);
  });

  it('one native write of 24 MiB completes once, after the last byte is handed over', { ...T, skip: process.env.HVSOCK_ENGINE_TRANSPORT === 'hyperv' && 'speaks sockaddr_in' }, async () => {
    const received = [];
    const { port } = await listen((socket) => received.push(digest(socket, { pauseMs: 300 })));
    const h = new (loadBinding().SocketHandle)();
    try {
      assert.equal(h.open(tcpLoopback.family, tcpLoopback.protocol), 0);
      const connected = new Promise((resolve) => (h.onconnect = resolve));
      assert.equal(h.connect(tcpLoopback.resolve({ port }, 'connect').sockaddr), 0);
      assert.equal(await connected, 0);
      await until(() => received.length > 0, "the server's connection");
      const data = SOURCE.subarray(3, 3 + 24 * MiB);
      const statuses = [];
      h.onwrite = (status) => statuses.push(status);
      assert.equal(h.writev(data), 1, 'pending: more than the OS buffers while the peer is paused');
      // Half-closing now would cut the write short: refused until it is done.
      assert.equal(h.shutdown(), uvErrno('EBUSY'));
      await until(() => statuses.length > 0, 'the write to complete');
      assert.deepEqual(statuses, [0]);
      assert.equal(h.shutdown(), 0);
      assert.deepEqual(await received[0], { length: data.length, sha256: sha256(data) });
      await sleep(50);
      assert.deepEqual(statuses, [0], 'no second completion');
    } finally {
      h.close();
    }
  });

  it('destroy() on finish, with the peer not yet reading: it still gets everything, then EOF (5 times)', T, async () => {
    // Node's destroySoon pattern. On Windows the socket then has a read
    // posted (the peer has not ended) while its last bytes are in the
    // kernel: closesocket alone could reset the connection.
    const finished = [];
    let connections = 0;
    const { port } = await listen((socket) => {
      const parts = plan(connections++);
      const sent = writeParts(socket, parts);
      socket.end();
      socket.once('finish', () => {
        finished.push(sent);
        socket.destroy();
      });
    });
    for (let round = 0; round < 5; round++) {
      const client = connect(port, { allowHalfOpen: true });
      const got = digest(client, { pauseMs: 300 });
      await event(client, 'connect');
      const result = await got;
      await until(() => finished.length > round, `round ${round}: the server's finish`);
      assert.deepEqual(result, { length: finished[round].total, sha256: finished[round].sha256 }, `round ${round}`);
      client.destroy();
    }
  });

  it('allowHalfOpen: false ends and closes by itself after its writes: the peer reads them all, then EOF (5 times)', T, async () => {
    const sent = [];
    const closed = [];
    const { port } = await listen((socket) => {
      socket.once('data', () => sent.push(writeParts(socket, plan(sent.length))));
      socket.once('close', (hadError) => closed.push(hadError));
      socket.resume();
    });
    for (let round = 0; round < 5; round++) {
      // The client half-closes at once; the server (allowHalfOpen: false)
      // then ends its side after its writes and destroys itself.
      const client = connect(port, { allowHalfOpen: true });
      const got = digest(client, { pauseMs: 300 });
      await event(client, 'connect');
      client.end('go');
      const result = await got;
      await until(() => sent.length > round && closed.length > round, `round ${round}: the server closing`);
      assert.deepEqual(result, { length: sent[round].total, sha256: sent[round].sha256 }, `round ${round}`);
      assert.equal(closed[round], false, `round ${round}: the server closed without an error`);
      client.destroy();
    }
  });
});
