import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { Socket } from '../../src/index.js';
import { connected, listen, readAll } from './helpers.js';

const MiB = 1024 * 1024;
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Writes `data` in chunks, honouring backpressure, then ends. */
async function send(socket: Socket, data: Buffer, chunk = 256 * 1024): Promise<void> {
  for (let off = 0; off < data.length; off += chunk) {
    if (!socket.write(data.subarray(off, off + chunk))) await once(socket, 'drain');
  }
  socket.end();
}

describe('bulk transfer', () => {
  it('moves 64 MiB each way at once with matching sha256', async () => {
    const up = randomBytes(64 * MiB);
    const down = randomBytes(64 * MiB);
    let received: Promise<Buffer> | undefined;
    const s = await listen(
      (peer) => {
        received = readAll(peer);
        void send(peer, down);
      },
      { allowHalfOpen: true },
    );
    const socket = await connected(s.port, { allowHalfOpen: true });
    const [gotDown] = await Promise.all([readAll(socket), send(socket, up)]);
    const gotUp = await (received as Promise<Buffer>);
    expect(gotUp.length).toBe(up.length);
    expect(sha256(gotUp)).toBe(sha256(up));
    expect(gotDown.length).toBe(down.length);
    expect(sha256(gotDown)).toBe(sha256(down));
    expect(socket.bytesWritten).toBe(up.length);
    expect(socket.bytesRead).toBe(down.length);
  });

  it('keeps memory bounded while the reader is paused, then delivers everything', async () => {
    let reader: Socket | undefined;
    const s = await listen((peer) => {
      reader = peer;
      peer.pause();
    });
    const writer = await connected(s.port);
    const chunk = Buffer.alloc(64 * 1024, 7);
    let accepted = 0;
    // Write until the stream says stop, and keep trying for a while: a writer
    // that honours 'drain' never gets ahead of the kernel buffers.
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline) {
      while (writer.write(chunk)) accepted += chunk.length;
      accepted += chunk.length;
      const drained = await Promise.race([
        once(writer, 'drain').then(() => true),
        new Promise((r) => setTimeout(r, 300)).then(() => false),
      ]);
      if (!drained) break;
    }
    expect(reader).toBeDefined();
    const peer = reader as Socket;
    // vsock buffers 256 KiB per socket side; plus stream high-water marks.
    expect(writer.writableLength).toBeLessThanOrEqual(2 * chunk.length);
    expect(peer.readableLength).toBeLessThanOrEqual(256 * 1024);
    expect(accepted).toBeLessThan(4 * MiB);
    const rssBefore = process.memoryUsage().rss;
    await new Promise((r) => setTimeout(r, 500));
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(16 * MiB);

    const all = readAll(peer);
    writer.end();
    const got = await all;
    expect(got.length).toBe(accepted);
  });
});
