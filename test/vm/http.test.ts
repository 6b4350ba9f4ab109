// hvsock/http with the real libraries, over real vsock in the guest (issue 19):
// node:http's Agent pooling over hvsock, fetch through the undici dispatcher,
// and serve() handing hvsock connections to an http.Server.
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { HvAgent, hvsockDispatcher, serve } from '../../src/http/index.js';
import type { Server as HvServer } from '../../src/net/server.js';

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');
const vsockPort = (): number => 30000 + Math.floor(Math.random() * 1_000_000);

/** An http.Server served on loopback vsock, counting the connections it gets and the most open at once. */
async function served(handler: http.RequestListener): Promise<{ server: http.Server; listener: HvServer; port: number; connections: () => number; peak: () => number }> {
  const server = http.createServer(handler);
  let connections = 0;
  let open = 0;
  let peak = 0;
  server.on('connection', (socket) => {
    connections++;
    peak = Math.max(peak, ++open);
    socket.once('close', () => open--);
  });
  const port = vsockPort();
  const listener = serve(server, `any:${port}`);
  await once(listener, 'listening');
  return { server, listener, port, connections: () => connections, peak: () => peak };
}

function get(url: string, agent: http.Agent): Promise<{ status: number; body: Buffer; remote: string | undefined }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), remote: res.socket?.remoteAddress }));
      })
      .on('error', reject);
  });
}

describe('hvsock/http over vsock', () => {
  it('HvAgent keep-alive: 100 sequential requests reuse one connection, counted on the server', async () => {
    const s = await served((req, res) => res.end(`hello ${req.url}`));
    const agent = new HvAgent({ target: `loopback:${s.port}`, keepAlive: true });
    try {
      for (let i = 0; i < 100; i++) {
        const r = await get(`http://vm/${i}`, agent);
        expect(r.status).toBe(200);
        expect(r.body.toString()).toBe(`hello /${i}`);
      }
      expect(s.connections()).toBe(1);
    } finally {
      agent.destroy();
      s.server.close();
    }
  });

  it('HvAgent maxSockets: 4 holds under 50 parallel requests', async () => {
    const s = await served((_req, res) => setTimeout(() => res.end('ok'), 20));
    const agent = new HvAgent({ target: `loopback:${s.port}`, keepAlive: true, maxSockets: 4 });
    try {
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => get(`http://vm/${i}`, agent)));
      expect(results.every((r) => r.status === 200 && r.body.toString() === 'ok')).toBe(true);
      expect(s.peak()).toBeLessThanOrEqual(4);
      expect(s.connections()).toBe(4);
    } finally {
      agent.destroy();
      s.server.close();
    }
  });

  it('serve(): req.socket.remoteAddress is the peer machine; server.close() closes the hvsock listener too', async () => {
    let remote: string | undefined;
    const s = await served((req, res) => {
      remote = req.socket.remoteAddress;
      res.end('x');
    });
    const agent = new HvAgent({ target: `loopback:${s.port}` });
    await get('http://vm/', agent);
    expect(remote).toBe('loopback');
    const closed = once(s.listener, 'close');
    s.server.close();
    await closed;
    expect(s.listener.listening).toBe(false);
    await expect(get('http://vm/', agent)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    agent.destroy();
  });

  it('fetch with hvsockDispatcher: a 16 MiB body by hash, a streamed request body, an aborted request', async () => {
    const big = randomBytes(16 * 1024 * 1024);
    const s = await served((req, res) => {
      if (req.url === '/big') return void res.end(big);
      if (req.url === '/echo') {
        const hash = createHash('sha256');
        req.on('data', (c: Buffer) => hash.update(c));
        req.on('end', () => res.end(hash.digest('hex')));
        return;
      }
      // /slow: never answers until the client gives up.
    });
    const { fetch } = await import('undici');
    // undici 7's fetch types its dispatcher with its own Dispatcher; hvsockDispatcher's is @types/node's undici-types (open question, issue 19).
    const dispatcher = hvsockDispatcher(`loopback:${s.port}`) as never as import('undici').Dispatcher;
    try {
      const r = await fetch('http://vm/big', { dispatcher });
      expect(sha256(Buffer.from(await r.arrayBuffer()))).toBe(sha256(big));
      const parts = [randomBytes(1 << 20), randomBytes(1 << 20)];
      const body = new ReadableStream({
        start(controller) {
          for (const p of parts) controller.enqueue(p);
          controller.close();
        },
      });
      const echoed = await fetch('http://vm/echo', { method: 'POST', body, duplex: 'half', dispatcher });
      expect(await echoed.text()).toBe(sha256(Buffer.concat(parts)));
      const aborted = fetch('http://vm/slow', { dispatcher, signal: AbortSignal.timeout(300) });
      await expect(aborted).rejects.toMatchObject({ name: 'TimeoutError' });
    } finally {
      await dispatcher.close();
      s.server.closeAllConnections();
      s.server.close();
    }
  });
});
