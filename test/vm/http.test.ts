// hvsock/http with the real libraries, over real vsock in the guest (issue 19):
// node:http's Agent pooling over hvsock, fetch through the undici dispatcher,
// and serve() handing hvsock connections to an http.Server.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { HvAgent, HvsAgent, hvsockDispatcher, serve } from '../../src/http/index.js';
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
    // undici's own fetch takes undici's Dispatcher type; the default is @types/node's (Node's global fetch).
    const dispatcher = hvsockDispatcher<import('undici').Dispatcher>(`loopback:${s.port}`);
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

  it('HvsAgent: TLS over hvsock to an https.Server served with serve(), the certificate checked for the URL\'s host', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hvsock-tls-'));
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=vm.test', '-addext', 'subjectAltName=DNS:vm.test']);
    expect(made.status, String(made.stderr)).toBe(0);
    const cert = readFileSync(join(dir, 'cert.pem'));
    const server = https.createServer({ key: readFileSync(join(dir, 'key.pem')), cert }, (req, res) => res.end(`secure ${(req.socket as import('node:tls').TLSSocket).encrypted}`));
    const port = vsockPort();
    await once(serve(server, `any:${port}`), 'listening');
    const agent = new HvsAgent({ target: `loopback:${port}`, ca: cert, keepAlive: true });
    const fetchText = (url: string): Promise<string> =>
      new Promise((resolve, reject) => {
        https.get(url, { agent }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += String(c)));
          res.on('end', () => resolve(body));
        }).on('error', reject);
      });
    try {
      expect(await fetchText('https://vm.test/')).toBe('secure true');
      expect(await fetchText('https://vm.test/again')).toBe('secure true');
      // The certificate names vm.test: another host name fails verification.
      await expect(fetchText('https://other.test/')).rejects.toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    } finally {
      agent.destroy();
      server.close();
    }
  });

  it('a server closed with a request in flight answers it, then refuses; a peer that vanishes mid-body is an error, not a short body', async () => {
    let release!: () => void;
    const s = await served((req, res) => {
      if (req.url === '/slow') return void new Promise<void>((r) => (release = r)).then(() => res.end('finished'));
      // /cut: half the promised body, then the connection is gone.
      res.writeHead(200, { 'content-length': 1000 });
      res.write(Buffer.alloc(500, 1));
      setTimeout(() => req.socket.destroy(), 50);
    });
    const agent = new HvAgent({ target: `loopback:${s.port}` });
    try {
      const cut = await new Promise<{ complete: boolean; bytes: number }>((resolve, reject) => {
        http.get('http://vm/cut', { agent }, (res) => {
          let bytes = 0;
          res.on('data', (c: Buffer) => (bytes += c.length));
          res.on('error', () => undefined);
          res.on('close', () => resolve({ complete: res.complete, bytes }));
        }).on('error', reject);
      });
      // node:http marks the message incomplete: 500 of the 1,000 bytes promised.
      expect(cut).toEqual({ complete: false, bytes: 500 });
      let arrived!: () => void;
      const slowArrived = new Promise<void>((r) => (arrived = r));
      s.server.on('request', (req) => req.url === '/slow' && arrived());
      const inFlight = get('http://vm/slow', agent);
      await slowArrived;
      // As a net.Server: the listener stops at once, and says 'close' once its last connection is gone.
      const closed = once(s.listener, 'close');
      s.server.close();
      expect(s.listener.listening).toBe(false);
      await expect(get('http://vm/', agent)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      release();
      expect(await inFlight).toMatchObject({ status: 200 });
      expect((await inFlight).body.toString()).toBe('finished');
      await closed;
    } finally {
      agent.destroy();
    }
  });
});
