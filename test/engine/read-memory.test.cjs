// Where received bytes live. A host process serves VMs that do not trust
// each other, and `chunk.buffer` is in reach of any user code: it must hold
// this chunk's bytes only, never another connection's bytes or uncleared
// heap, and user code may transfer (detach) it at any moment
// without the engine ever reading into it again (native/read_memory.h).
// Runs on both engines, and under AddressSanitizer (test:sanitize), where a
// read into freed memory is a report, not a silent corruption.
'use strict';
const assert = require('node:assert/strict');
const { once } = require('node:events');
const { MessageChannel } = require('node:worker_threads');
const { after, describe, it } = require('node:test');
const { listen, connect, closeAll, event, loadBinding } = require('./helpers.cjs');

const T = { timeout: 120_000 };
after(closeAll);

/** `length` bytes cycling through `alphabet` (no zeros), so every byte says whose it is. */
function stamped(length, alphabet, seed) {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = alphabet[(i * 7 + seed + (i >>> 10)) % alphabet.length];
  return out;
}
const range = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('read memory', () => {
  it('gives every chunk an ArrayBuffer of its own: no byte of another connection, nothing uncleared', T, async () => {
    // Two peers stream distinct alphabets at once, in writes large and small,
    // so that reads of both sizes interleave between the two connections.
    const alphabets = { a: range(0x01, 0x7f), b: range(0x80, 0xfe) };
    const sent = { a: stamped(6 * 1024 * 1024, alphabets.a, 1), b: stamped(6 * 1024 * 1024, alphabets.b, 2) };
    const received = { a: [], b: [] };
    const done = [];
    const { port } = await listen((socket) => {
      // The first byte says which peer this is, in that peer's own alphabet.
      socket.once('data', (first) => {
        const chunks = received[first[0] < 0x80 ? 'a' : 'b'];
        chunks.push(first);
        socket.on('data', (chunk) => chunks.push(chunk));
        done.push(once(socket, 'end'));
      });
    });
    const before = loadBinding().readMemoryStats();
    const send = async (who) => {
      const client = connect(port);
      await once(client, 'connect');
      client.write(Buffer.from([alphabets[who][0]]));
      const data = sent[who];
      // Alternately small and large writes, yielding in between.
      for (let at = 0, i = 0; at < data.length; i++) {
        const size = i % 3 === 0 ? 300 : 192 * 1024;
        const more = client.write(data.subarray(at, at + size));
        at += size;
        if (!more) await once(client, 'drain');
        else if (i % 3 === 0) await new Promise(setImmediate);
      }
      client.end();
      await once(client, 'close');
    };
    await Promise.all([send('a'), send('b')]);
    while (done.length < 2) await new Promise((resolve) => setTimeout(resolve, 10));
    await Promise.all(done);

    const buffers = new Set();
    for (const who of ['a', 'b']) {
      const chunks = received[who];
      assert.ok(Buffer.concat(chunks).subarray(1).equals(sent[who]), `connection ${who}: every byte arrived in order`);
      const allowed = new Uint8Array(256);
      for (const byte of alphabets[who]) allowed[byte] = 1;
      for (const chunk of chunks) {
        assert.equal(chunk.byteOffset, 0, 'a chunk starts its ArrayBuffer');
        // Exactly the chunk's bytes: nothing past them to leak or to be read into.
        assert.equal(chunk.buffer.byteLength, chunk.length, 'a chunk is its whole ArrayBuffer');
        assert.ok(!buffers.has(chunk.buffer), 'no two chunks share an ArrayBuffer');
        buffers.add(chunk.buffer);
        for (let i = 0; i < chunk.length; i++) {
          if (!allowed[chunk[i]]) assert.fail(`connection ${who}: a chunk holds byte ${chunk[i]}, which only the other connection sent`);
        }
      }
    }
    // Every read was copied out of the read space JavaScript never sees.
    const after = loadBinding().readMemoryStats();
    assert.ok(after.copied - before.copied >= buffers.size, `reads copied: ${after.copied - before.copied}, chunks: ${buffers.size}`);
  });

  it("survives a chunk's ArrayBuffer transferred mid-stream 1,000 times, every way there is, and loses no byte", T, async () => {
    const ROUNDS = 1000;
    const { port1, port2 } = new MessageChannel();
    port2.on('message', () => {}); // the transferred memory goes somewhere real
    const ways = [
      (chunk) => port1.postMessage(chunk, [chunk.buffer]),
      (chunk) => structuredClone(chunk, { transfer: [chunk.buffer] }),
    ];
    // ArrayBuffer.prototype.transfer() (Node 21 and later) frees or moves the memory at once.
    if (typeof ArrayBuffer.prototype.transfer === 'function') ways.push((chunk) => chunk.buffer.transfer());

    // The server answers each request with the next block, small or large in
    // turn, so reads of every size get transferred.
    const sizes = [100, 48 * 1024, 3000, 160 * 1024];
    const block = (n) => Buffer.alloc(sizes[n % sizes.length], (n % 251) + 1);
    const { port } = await listen((socket) => {
      let n = 0;
      socket.on('data', (request) => {
        for (let i = 0; i < request.length; i++) socket.write(block(n++));
      });
    });
    const client = connect(port);
    await once(client, 'connect');
    const expected = [];
    const got = [];
    let transfers = 0;
    let wanted = 0;
    let pending = 0;
    const finished = new Promise((resolve, reject) => {
      client.on('error', reject);
      client.on('data', (chunk) => {
        got.push(Buffer.from(chunk)); // a copy, kept to check the bytes
        pending -= chunk.length;
        ways[transfers % ways.length](chunk);
        transfers++;
        assert.equal(chunk.buffer.byteLength, 0, 'the transferred ArrayBuffer is detached');
        if (pending === 0 && transfers >= ROUNDS) resolve();
        else if (pending === 0) request();
      });
    });
    const request = () => {
      expected.push(block(wanted));
      pending += sizes[wanted % sizes.length];
      wanted++;
      client.write('n');
    };
    request();
    await finished;
    client.end();
    await event(client, 'close');
    port1.close();
    assert.ok(transfers >= ROUNDS, `transfers: ${transfers}`);
    assert.ok(Buffer.concat(got).equals(Buffer.concat(expected)), 'every byte arrived intact after all the transfers');
  });
});
