// The libraries people run across a VM boundary, over real vsock in the guest
// (issue 19): Express served with serve(), HTTP/2 with multiplexed streams,
// ws, ssh2 (client sock, server injectSocket) and grpc-js (server through
// createConnectionInjector; client through a local `hvsock/forward` unix
// socket, grpc-js having no custom-socket hook).
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import express from 'express';
import ssh2 from 'ssh2';
import { describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { connect, createServer } from '../../src/index.js';
import { forward } from '../../src/forward/index.js';
import { HvAgent, serve } from '../../src/http/index.js';

const vsockPort = (): number => 40000 + Math.floor(Math.random() * 1_000_000);

function get(url: string, agent: http.Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += String(c)));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

describe('protocol libraries over vsock', () => {
  it('Express through serve(): its own routing, 404 and error handler', async () => {
    const app = express();
    app.get('/hello/:name', (req, res) => void res.send(`hello ${req.params.name} from ${req.socket.remoteAddress}`));
    app.get('/boom', () => {
      throw new Error('boom');
    });
    app.use((error: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => void res.status(500).send(`caught ${error.message}`));
    const server = http.createServer(app);
    const port = vsockPort();
    await once(serve(server, `any:${port}`), 'listening');
    const agent = new HvAgent({ target: `loopback:${port}`, keepAlive: true });
    try {
      expect(await get('http://vm/hello/guest', agent)).toEqual({ status: 200, body: 'hello guest from loopback' });
      expect(await get('http://vm/boom', agent)).toEqual({ status: 500, body: 'caught boom' });
      expect((await get('http://vm/missing', agent)).status).toBe(404);
    } finally {
      agent.destroy();
      server.close();
    }
  });

  it('HTTP/2: 20 multiplexed streams on one session, through http2.connect({ createConnection })', async () => {
    const server = http2.createServer();
    let sessions = 0;
    server.on('session', () => sessions++);
    server.on('stream', (stream, headers) => {
      stream.respond({ ':status': 200 });
      stream.end(`stream ${headers[':path']}`);
    });
    const port = vsockPort();
    await once(serve(server, `any:${port}`), 'listening');
    const client = http2.connect('http://vm', { createConnection: () => connect({ cid: 1, port }) as never });
    try {
      const bodies = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          new Promise<string>((resolve, reject) => {
            const req = client.request({ ':path': `/${i}` });
            let body = '';
            req.on('data', (c: Buffer) => (body += String(c)));
            req.on('end', () => resolve(body));
            req.on('error', reject);
            req.end();
          }),
        ),
      );
      expect(bodies).toEqual(Array.from({ length: 20 }, (_, i) => `stream /${i}`));
      expect(sessions).toBe(1);
    } finally {
      client.close();
      server.close();
    }
  });

  it('ws: 1,000 messages echoed over a WebSocket whose connection is hvsock', async () => {
    const server = http.createServer();
    const wss = new WebSocketServer({ server });
    wss.on('connection', (ws) => ws.on('message', (data, binary) => ws.send(data, { binary })));
    const port = vsockPort();
    await once(serve(server, `any:${port}`), 'listening');
    const ws = new WebSocket('ws://vm/', { createConnection: () => connect({ cid: 1, port }) as never });
    try {
      await once(ws, 'open');
      const got: string[] = [];
      const all = new Promise<void>((resolve) =>
        ws.on('message', (data) => {
          got.push(String(data));
          if (got.length === 1000) resolve();
        }),
      );
      for (let i = 0; i < 1000; i++) ws.send(`message ${i}`);
      await all;
      expect(got).toEqual(Array.from({ length: 1000 }, (_, i) => `message ${i}`));
    } finally {
      ws.close();
      wss.close();
      server.close();
    }
  });

  it('ssh2: a client on an hvsock socket (sock) runs a command on a server fed by injectSocket', async () => {
    const hostKey = ssh2.utils.generateKeyPairSync('ed25519').private;
    const sshServer = new ssh2.Server({ hostKeys: [hostKey] }, (client) => {
      client.on('authentication', (ctx) => (ctx.method === 'password' && ctx.password === 'pw' ? ctx.accept() : ctx.reject(['password'])));
      client.on('session', (accept) =>
        accept().on('exec', (acceptExec, _reject, info) => {
          const stream = acceptExec();
          stream.end(`ran ${info.command}\n`);
          stream.exit(0);
        }),
      );
    });
    const listener = createServer((socket) => sshServer.injectSocket(socket as never));
    const port = vsockPort();
    listener.listen({ port });
    await once(listener, 'listening');
    const client = new ssh2.Client();
    try {
      client.connect({ sock: connect({ cid: 1, port }) as never, username: 'u', password: 'pw' });
      await once(client, 'ready');
      const output = await new Promise<string>((resolve, reject) =>
        client.exec('uptime', (error, stream) => {
          if (error) return reject(error);
          let out = '';
          stream.on('data', (c: Buffer) => (out += String(c)));
          stream.on('close', () => resolve(out));
        }),
      );
      expect(output).toBe('ran uptime\n');
    } finally {
      client.end();
      listener.close();
    }
  });

  it('grpc-js: unary and bidirectional streaming, the server through createConnectionInjector, the client through a forward unix socket', async () => {
    const passthrough = { requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b };
    const service = {
      upper: { path: '/test.Echo/Upper', requestStream: false, responseStream: false, ...passthrough },
      chat: { path: '/test.Echo/Chat', requestStream: true, responseStream: true, ...passthrough },
    } as grpc.ServiceDefinition;
    const server = new grpc.Server();
    server.addService(service, {
      upper: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => callback(null, Buffer.from(call.request.toString().toUpperCase())),
      chat: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
        call.on('data', (b: Buffer) => call.write(Buffer.from(`echo ${b}`)));
        call.on('end', () => call.end());
      },
    });
    const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    const port = vsockPort();
    const listener = createServer((socket) => injector.injectConnection(socket as never));
    listener.listen({ port });
    await once(listener, 'listening');
    const path = join(mkdtempSync(join(tmpdir(), 'hvsock-grpc-')), 'grpc.sock');
    const bridge = forward({ listen: `unix:${path}`, target: `loopback:${port}` });
    await once(bridge, 'listening');
    const Client = grpc.makeGenericClientConstructor(service, 'Echo');
    const client = new Client(`unix:${path}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & { upper: (...args: unknown[]) => unknown; chat: () => unknown };
    try {
      const upper = await new Promise<Buffer>((resolve, reject) =>
        client.upper(Buffer.from('over vsock'), (error: Error | null, reply: Buffer) => (error ? reject(error) : resolve(reply))),
      );
      expect(upper.toString()).toBe('OVER VSOCK');
      const call = client.chat() as grpc.ClientDuplexStream<Buffer, Buffer>;
      const replies: string[] = [];
      call.on('data', (b: Buffer) => replies.push(b.toString()));
      const ended = once(call, 'end');
      for (let i = 0; i < 50; i++) call.write(Buffer.from(`m${i}`));
      call.end();
      await ended;
      expect(replies).toEqual(Array.from({ length: 50 }, (_, i) => `echo m${i}`));
    } finally {
      client.close();
      await bridge.close(0);
      listener.close();
      server.forceShutdown();
    }
  });
});
