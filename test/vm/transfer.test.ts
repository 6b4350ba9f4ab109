import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
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
    // The client's connect can complete before the server has accepted.
    await vi.waitFor(() => expect(reader).toBeDefined(), { timeout: 30_000 });
    const peer = reader as Socket;
    const chunk = Buffer.alloc(64 * 1024, 7);
    // Far more than a paused reader can hold (vsock buffers 256 KiB per
    // socket side, plus both streams' high-water marks): a writer that
    // honours 'drain' gets stuck long before; one whose backpressure is
    // broken keeps draining and runs into it.
    const LIMIT = 4 * MiB;

    // Memory and buffers are sampled while the transfer runs and while it is
    // stuck, not once it has stopped.
    const rssBefore = process.memoryUsage().rss;
    const peak = { rss: rssBefore, writable: 0, readable: 0 };
    const sample = (): void => {
      peak.rss = Math.max(peak.rss, process.memoryUsage().rss);
      peak.writable = Math.max(peak.writable, writer.writableLength);
      peak.readable = Math.max(peak.readable, peer.readableLength);
    };

    let accepted = 0;
    let waitingForDrain = false;
    let stop = (): void => {};
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    let done = false;
    const writing = (async () => {
      while (!done && accepted < LIMIT) {
        const more = writer.write(chunk);
        accepted += chunk.length;
        sample();
        if (more) continue;
        waitingForDrain = true;
        await Promise.race([once(writer, 'drain'), stopped]);
        waitingForDrain = false;
      }
    })();

    // Stuck: waiting for a drain while nothing moves (accepted, buffered on
    // either side, or read by the peer) over 20 samples, 100 ms apart. Only
    // the end of the writing phase is inferred from that quiet; the ceiling
    // is against a writer that never gets stuck.
    const ceiling = Date.now() + 60_000;
    let last = '';
    let quiet = 0;
    while (quiet < 20 && accepted < LIMIT) {
      if (Date.now() > ceiling) throw new Error(`the writer neither got stuck nor reached ${LIMIT} bytes within 60 s`);
      await new Promise((r) => setTimeout(r, 100));
      sample();
      const state = `${accepted} ${writer.writableLength} ${peer.readableLength} ${peer.bytesRead}`;
      quiet = waitingForDrain && state === last ? quiet + 1 : 0;
      last = state;
    }
    done = true;
    stop();
    await writing;

    expect(accepted).toBeLessThan(LIMIT);
    expect(peak.writable).toBeLessThanOrEqual(2 * chunk.length);
    expect(peak.readable).toBeLessThanOrEqual(256 * 1024);
    expect(peak.rss - rssBefore).toBeLessThan(16 * MiB);

    const all = readAll(peer);
    writer.end();
    const got = await all;
    expect(got.length).toBe(accepted);
  });
});
