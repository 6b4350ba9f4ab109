import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { Socket } from '../../src/index.js';
import { connected, listen, readAll } from './helpers.js';

describe('half-close', () => {
  it('client ends first; server still answers afterwards', async () => {
    const s = await listen(
      (peer) => {
        void readAll(peer).then((request) => peer.end(`got ${request.length} bytes`));
      },
      { allowHalfOpen: true },
    );
    const socket = await connected(s.port, { allowHalfOpen: true });
    socket.end('request body');
    await once(socket, 'finish');
    expect(socket.writable).toBe(false);
    expect(socket.readyState).toBe('readOnly');
    expect((await readAll(socket)).toString()).toBe('got 12 bytes');
  });

  it('server ends first; client keeps writing until it ends', async () => {
    let serverGot: Promise<Buffer> | undefined;
    const s = await listen(
      (peer) => {
        serverGot = readAll(peer);
        peer.end('greeting');
      },
      { allowHalfOpen: true },
    );
    const socket = await connected(s.port, { allowHalfOpen: true });
    const greeting = await readAll(socket);
    expect(greeting.toString()).toBe('greeting');
    expect(socket.readyState).toBe('writeOnly');
    const closed = once(socket, 'close');
    socket.write('still ');
    socket.end('talking');
    expect((await (serverGot as Promise<Buffer>)).toString()).toBe('still talking');
    const [hadError] = await closed;
    expect(hadError).toBe(false);
  });

  it('without allowHalfOpen the socket ends its side when the peer ends', async () => {
    let peerSocket: Socket | undefined;
    const s = await listen((peer) => {
      peerSocket = peer;
      peer.resume();
    });
    const socket = await connected(s.port);
    socket.end();
    const [hadError] = await once(peerSocket as Socket, 'close');
    expect(hadError).toBe(false);
    await once(socket, 'close');
  });
});
