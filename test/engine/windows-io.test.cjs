// How the engine reads and writes, once per way the Windows engine can do it.
// Per socket, the IOCP engine uses zero-byte reads (then non-blocking reads
// straight into JavaScript's memory) and lets operations that complete at
// once skip the completion port, where the provider allows; otherwise it
// falls back to reads into a posted buffer of its own, and to every
// completion through the port. Under Wine (AF_INET) the provider allows
// both, so the fallbacks, which Hyper-V's provider may need (whether it
// takes either is undocumented), run only when HVSOCK_WINDOWS_IO forces
// them: each setting below runs the same checks. The engine reads the
// variable for each new socket. On POSIX the variable means nothing, and
// only the first setting runs.
'use strict';
const assert = require('node:assert/strict');
const { once } = require('node:events');
const { after, afterEach, describe, it } = require('node:test');
const { listen, connect, closeAll, event, later, readAll, sleep, pattern } = require('./helpers.cjs');

const T = { timeout: 120_000 };
after(closeAll);

const SETTINGS = [
  { io: undefined, what: 'zero-byte reads, skip-on-success' },
  { io: 'port', what: 'zero-byte reads, every completion through the port' },
  { io: 'posted-reads', what: 'posted-buffer reads, skip-on-success' },
  { io: 'port,posted-reads', what: 'posted-buffer reads, every completion through the port' },
];
const onWindows = process.platform === 'win32';

afterEach(() => {
  delete process.env.HVSOCK_WINDOWS_IO;
});

for (const { io, what } of SETTINGS) {
  const skip = io !== undefined && !onWindows ? 'the Windows engine only' : false;
  const use = () => {
    if (io === undefined) delete process.env.HVSOCK_WINDOWS_IO;
    else process.env.HVSOCK_WINDOWS_IO = io;
  };

  describe(`engine I/O: ${what}`, { skip }, () => {
    it('exchanges small messages one at a time, then 8 MiB each way with a reader that pauses now and then, byte for byte', T, async () => {
      use();
      const up = pattern(8 * 1024 * 1024, 21);
      const down = pattern(8 * 1024 * 1024, 22);
      let serverGot;
      const { port } = await listen(async (socket) => {
        // Ping-pong: every read is a short one, and every write goes at once.
        for (let i = 0; i < 20; i++) {
          socket.write(`ping ${i}`);
          const [reply] = await once(socket, 'data');
          assert.equal(reply.toString(), `pong ${i}`);
        }
        serverGot = readAll(socket);
        socket.end(down);
      });
      const client = connect(port);
      await once(client, 'connect');
      for (let i = 0; i < 20; i++) {
        const [message] = await once(client, 'data');
        assert.equal(message.toString(), `ping ${i}`);
        client.write(`pong ${i}`);
      }
      // Pausing inside 'data' stops the engine in the middle of its reads;
      // resuming on the next turn starts them again.
      // The server sends only once it has read the last pong, so the bulk
      // data up starts after it: sent on the first bulk data down.
      const chunks = [];
      let reads = 0;
      client.on('data', (chunk) => {
        chunks.push(chunk);
        if (chunks.length === 1) client.end(up);
        if (++reads % 7 === 0) {
          client.pause();
          setImmediate(() => client.resume());
        }
      });
      await event(client, 'end');
      assert.ok(Buffer.concat(chunks).equals(down), 'the client received the server bytes intact');
      assert.ok((await serverGot).equals(up), 'the server received the client bytes intact');
    });

    it('reads nothing for a socket paused from its start: the writer is held back, and everything arrives after resume', T, async () => {
      use();
      let resolveSocket;
      const accepted = new Promise((resolve) => (resolveSocket = resolve));
      const { port } = await listen((socket) => resolveSocket(socket), { pauseOnConnect: true });
      const client = connect(port);
      await once(client, 'connect');
      const socket = await accepted;
      const chunk = pattern(128 * 1024, 5);
      let written = 0;
      let heldBack = false;
      for (let round = 0; round < 800 && !heldBack; round++) {
        written += chunk.length;
        if (!client.write(chunk)) {
          heldBack = !(await Promise.race([once(client, 'drain').then(() => true), later(500, false)]));
        }
      }
      assert.ok(heldBack, `the writer was never held back (wrote ${written} bytes)`);
      await sleep(100);
      assert.equal(socket.bytesRead, 0, 'a paused socket delivered data');
      const all = readAll(socket);
      socket.resume();
      client.end();
      const received = await all;
      assert.equal(received.length, written);
      for (let offset = 0; offset < written; offset += chunk.length) {
        assert.ok(received.subarray(offset, offset + chunk.length).equals(chunk), `bytes at ${offset} intact`);
      }
    });

    it('keeps 100 idle connections reading, then each answers its own message and ends', T, async () => {
      use();
      const { port } = await listen((socket) => {
        socket.on('data', (d) => socket.write(`echo:${d}`));
        socket.on('end', () => socket.end());
      });
      const clients = [];
      for (let i = 0; i < 100; i++) {
        const client = connect(port);
        await once(client, 'connect');
        clients.push(client);
      }
      // Idle: every socket has its read posted and nothing to read.
      await sleep(200);
      const replies = clients.map((client, i) => {
        const reply = readAll(client);
        client.end(`client ${i}`);
        return reply;
      });
      const got = (await Promise.all(replies)).map(String);
      assert.deepEqual(got, clients.map((_, i) => `echo:client ${i}`));
    });
  });
}
