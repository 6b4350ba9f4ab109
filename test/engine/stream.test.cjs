// Streams over the engine: event order, gathered writes, half-close, bulk
// data both ways, backpressure and data held while paused. The same file
// runs on the POSIX engine (Linux) and the IOCP engine (Windows under Wine),
// so every assertion here is also a statement that both behave alike.
'use strict';
const assert = require('node:assert/strict');
const { once } = require('node:events');
const { after, describe, it } = require('node:test');
const { listen, connect, newSocket, target, readAll, closeAll, event, later, pattern, sleep } = require('./helpers.cjs');

const T = { timeout: 60_000 };
after(closeAll);

describe('streams over the engine', () => {
  it('echoes with node:net event order on both ends', T, async () => {
    const serverEvents = [];
    const { port } = await listen((socket) => {
      serverEvents.push('connection');
      socket.on('data', (d) => {
        serverEvents.push(`data:${d}`);
        socket.write(d);
      });
      socket.on('end', () => serverEvents.push('end'));
      socket.on('finish', () => serverEvents.push('finish'));
      socket.on('close', (hadError) => serverEvents.push(`close:${hadError}`));
    });
    const events = [];
    const client = connect(port);
    for (const name of ['connect', 'ready', 'end', 'finish']) client.on(name, () => events.push(name));
    client.on('data', (d) => {
      events.push(`data:${d}`);
      client.end();
    });
    assert.equal(client.connecting, true);
    assert.equal(client.readyState, 'opening');
    client.once('connect', () => {
      assert.equal(client.readyState, 'open');
      client.write('ping');
    });
    const hadError = await event(client, 'close');
    events.push(`close:${hadError}`);
    assert.deepEqual(events, ['connect', 'ready', 'data:ping', 'finish', 'end', 'close:false']);
    assert.equal(client.bytesWritten, 4);
    assert.equal(client.bytesRead, 4);
    await sleep(50);
    assert.deepEqual(serverEvents, ['connection', 'data:ping', 'end', 'finish', 'close:false']);
  });

  it('sends corked writes as one gathered write, and writes made before connect', T, async () => {
    const got = [];
    const { port } = await listen((socket) => readAll(socket).then((all) => got.push(all.toString())));
    const client = connect(port);
    client.write('early-'); // before the connection exists
    client.once('connect', () => {
      client.cork();
      for (const part of ['a', 'b', 'c', Buffer.from('-d')]) client.write(part);
      process.nextTick(() => {
        client.uncork();
        client.end('-end');
      });
    });
    await event(client, 'close');
    await sleep(50);
    assert.deepEqual(got, ['early-abc-d-end']);
  });

  it('half-closes in both directions with allowHalfOpen', T, async () => {
    const { port } = await listen(
      (socket) => {
        socket.on('end', () => {
          // The client has finished writing, but can still read.
          socket.end('reply after your end');
        });
        socket.resume();
      },
      { allowHalfOpen: true },
    );
    const client = connect(port, { allowHalfOpen: true });
    await once(client, 'connect');
    const reply = readAll(client);
    const closed = event(client, 'close');
    client.end('request');
    assert.equal((await reply).toString(), 'reply after your end');
    await closed;
  });

  it('ends the writable side itself when the peer ends and allowHalfOpen is off', T, async () => {
    let serverFinished = false;
    const { port } = await listen((socket) => {
      socket.on('finish', () => (serverFinished = true));
      socket.resume();
    });
    const client = connect(port, { allowHalfOpen: true });
    await once(client, 'connect');
    const reply = readAll(client);
    const closed = event(client, 'close');
    client.end();
    assert.equal((await reply).length, 0); // the server's automatic end reached us
    await closed;
    assert.equal(serverFinished, true);
  });

  it('moves 16 MiB each way at once, byte for byte', T, async () => {
    const size = 16 * 1024 * 1024;
    const up = pattern(size, 7);
    const down = pattern(size, 11);
    let serverGot;
    const { port } = await listen((socket) => {
      serverGot = readAll(socket);
      socket.end(down);
    });
    const client = connect(port);
    await once(client, 'connect');
    const clientGot = readAll(client);
    client.end(up);
    assert.ok((await clientGot).equals(down), 'client received the server bytes intact');
    assert.ok((await serverGot).equals(up), 'server received the client bytes intact');
  });

  it('stops reading while the reader is paused, holds the writer back, and delivers everything after resume', T, async () => {
    let serverSocket;
    let readAtPause = -1;
    const paused = new Promise((resolve) => {
      listen((socket) => {
        serverSocket = socket;
        const chunks = [];
        socket.on('data', (d) => {
          chunks.push(d);
          if (readAtPause < 0 && socket.bytesRead >= 1024 * 1024) {
            socket.pause();
            readAtPause = socket.bytesRead;
            resolve(chunks);
          }
        });
      }).then(({ port }) => client.connect(target(port)));
    });
    const client = newSocket();
    await once(client, 'connect');
    const chunk = pattern(256 * 1024, 3);
    let written = 0;
    let pushedBack = false;
    // Write until the paused reader holds everything the OS will buffer.
    for (let round = 0; round < 400; round++) {
      written += chunk.length;
      if (!client.write(chunk)) {
        const drained = await Promise.race([
          once(client, 'drain').then(() => true),
          later(300, false),
        ]);
        if (!drained && readAtPause >= 0) {
          pushedBack = true;
          break;
        }
      }
    }
    const chunks = await paused;
    assert.ok(pushedBack, `the writer was never held back (wrote ${written} bytes)`);
    // Reading stopped: at most the stream's buffer plus one OS read came in after pause().
    const readWhilePaused = serverSocket.bytesRead - readAtPause;
    assert.ok(readWhilePaused <= serverSocket.readableHighWaterMark + 256 * 1024, `read ${readWhilePaused} bytes while paused`);
    assert.ok(serverSocket.readableLength <= readWhilePaused);
    assert.ok(client.writableLength > 0, 'the writer keeps what the OS would not take');
    const rest = readAll(serverSocket);
    serverSocket.resume();
    client.end();
    const received = Buffer.concat([...chunks, await rest]);
    assert.equal(received.length, written);
    for (let offset = 0; offset < written; offset += chunk.length) {
      assert.ok(received.subarray(offset, offset + chunk.length).equals(chunk), `bytes at ${offset} intact`);
    }
  });

  it('keeps data and end that arrive while a socket is paused', T, async () => {
    let resolveSocket;
    const accepted = new Promise((resolve) => (resolveSocket = resolve));
    const { port } = await listen((socket) => resolveSocket(socket), { pauseOnConnect: true });
    const client = connect(port);
    client.end('held while paused');
    const socket = await accepted;
    await once(client, 'finish');
    await sleep(200);
    assert.equal(socket.bytesRead, 0);
    const all = readAll(socket);
    socket.resume();
    assert.equal((await all).toString(), 'held while paused');
  });
});
