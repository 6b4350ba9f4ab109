// Every code block of the README's section "HTTP, fetch, gRPC, WebSocket and
// SSH", run as it stands: each block is fed to `node --input-type=module`
// from the repository's root (so `import … from 'hvsock'` resolves to this
// package, as in a user's project), over real vsock in the guest, where
// `parent` (CID 2) is the guest itself. A block's partner is either another
// block (the ws and gRPC servers and clients run against each other) or a
// server this test runs; each block's output is checked, and so is its exit.
// A block added to the section without a case here fails the count.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from '../../src/index.js';
import { HvAgent, serve } from '../../src/http/index.js';

const ROOT = join(__dirname, '..', '..');
const SECTION = '## HTTP, fetch, gRPC, WebSocket and SSH: `hvsock/http`';

/** The section's ```js blocks, in order. */
function sectionBlocks(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf(SECTION);
  if (start < 0) throw new Error(`README.md has no section ${SECTION}`);
  const end = readme.indexOf('\n## ', start + SECTION.length);
  return [...readme.slice(start, end).matchAll(/^```js\n([\s\S]*?)^```$/gm)].map((match) => match[1] as string);
}

const blocks = sectionBlocks();

interface Snippet {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<number | null>;
}

const running = new Set<ChildProcess>();

afterEach(() => {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
});

/** Runs block `index` as an ES module; `env` adds to the environment (HOME for ssh2). */
function run(index: number, env: Record<string, string> = {}): Snippet {
  const child = spawn(process.execPath, ['--input-type=module'], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  running.add(child);
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk) => (out += String(chunk)));
  child.stderr?.on('data', (chunk) => (err += String(chunk)));
  child.stdin?.end(blocks[index]);
  const exited = once(child, 'close').then(([code]) => {
    running.delete(child);
    return code as number | null;
  });
  return { child, out: () => out, err: () => err, exited };
}

/** The block's stdout once it has exited, which must be with 0. */
async function finished(snippet: Snippet): Promise<string> {
  const code = await snippet.exited;
  expect({ code, stderr: snippet.err() }).toEqual({ code: 0, stderr: '' });
  return snippet.out();
}

/** Resolves once a long-running block has printed `line` (its "listening" line). */
function printed(snippet: Snippet, line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (snippet.out().includes(line)) resolve();
    };
    snippet.child.stdout?.on('data', check);
    check();
    snippet.exited.then((code) => reject(new Error(`exited ${code} before printing ${line}: ${snippet.err()}`)));
  });
}

/** An HTTP server on any:<port> (the snippets' "parent"), answering with the method and path. */
async function parentServer(port: number): Promise<http.Server> {
  const server = http.createServer((req, res) => res.end(`${req.method} ${req.url}\n`));
  await once(serve(server, `any:${port}`), 'listening');
  return server;
}

describe("the README's hvsock/http snippets, as they stand", () => {
  it('the section has the ten blocks this test runs', () => {
    expect(blocks).toHaveLength(10);
  });

  it('HvAgent with a target: a GET to parent:5000', async () => {
    const server = await parentServer(5000);
    try {
      expect(await finished(run(0))).toBe('GET /status\n');
    } finally {
      server.close();
    }
  });

  it('HvAgent with a resolver: http://host:5000/ goes to parent:5000', async () => {
    const server = await parentServer(5000);
    try {
      expect(await finished(run(1))).toBe('GET /resolved\n');
    } finally {
      server.close();
    }
  });

  it('fetch with hvsockDispatcher', async () => {
    const server = await parentServer(5000);
    try {
      expect(await finished(run(2))).toBe('200 GET /api\n\n');
    } finally {
      server.close();
    }
  });

  it('serve(): answers on any:80 with the peer machine; SIGTERM closes the server and the listener, and the process ends', async () => {
    const snippet = run(3);
    await printed(snippet, 'serving on any:80\n');
    const agent = new HvAgent({ target: 'loopback:80' });
    const body = await new Promise<string>((resolve, reject) =>
      http
        .get('http://vm/', { agent }, (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += String(chunk)));
          res.on('end', () => resolve(text));
        })
        .on('error', reject),
    );
    expect(body).toBe('hello loopback\n');
    snippet.child.kill('SIGTERM');
    expect(await finished(snippet)).toBe('serving on any:80\n');
  });

  it('HTTP/2: a request on a session whose connection is hvsock', async () => {
    const server = http2.createServer();
    server.on('stream', (stream, headers) => {
      stream.respond({ ':status': 200 });
      stream.end(`h2 ${headers[':path']}\n`);
    });
    await once(serve(server, 'any:5000'), 'listening');
    try {
      expect(await finished(run(4))).toBe('h2 /h2\n');
    } finally {
      server.close();
    }
  });

  it('ws: the server block and the client block, against each other', async () => {
    const server = run(5);
    await printed(server, 'ws on any:5001\n');
    expect(await finished(run(6))).toBe('echo hello\n');
  });

  it('ssh2: the client block runs a command on an ssh2 server fed by injectSocket', async () => {
    const home = mkdtempSync(join(tmpdir(), 'hvsock-ssh2-home-'));
    const keys = ssh2.utils.generateKeyPairSync('ed25519');
    mkdirSync(join(home, '.ssh'));
    writeFileSync(join(home, '.ssh', 'id_ed25519'), keys.private, { mode: 0o600 });
    const allowed = ssh2.utils.parseKey(keys.public);
    if (allowed instanceof Error) throw allowed;
    const hostKey = ssh2.utils.generateKeyPairSync('ed25519').private;
    const sshServer = new ssh2.Server({ hostKeys: [hostKey] }, (client) => {
      client.on('authentication', (ctx) => {
        // The user's own key only: its public half, and its signature once the client sends one.
        const ok =
          ctx.method === 'publickey' &&
          ctx.username === 'me' &&
          ctx.key.algo === allowed.type &&
          ctx.key.data.equals(allowed.getPublicSSH()) &&
          (ctx.signature === undefined || allowed.verify(ctx.blob as Buffer, ctx.signature, ctx.hashAlgo) === true);
        return ok ? ctx.accept() : ctx.reject(['publickey']);
      });
      client.on('session', (accept) =>
        accept().on('exec', (acceptExec, _reject, info) => {
          const stream = acceptExec();
          stream.end(execFileSync('sh', ['-c', info.command]));
          stream.exit(0);
        }),
      );
    });
    const listener = createServer((socket) => sshServer.injectSocket(socket as never));
    listener.listen('any:22');
    await once(listener, 'listening');
    try {
      expect(await finished(run(7, { HOME: home }))).toBe(execFileSync('uname', ['-s'], { encoding: 'utf8' }));
    } finally {
      listener.close();
    }
  });

  it('gRPC: the server block (connection injector) and the client block (through a forward unix socket), against each other', async () => {
    const server = run(8);
    await printed(server, 'gRPC on any:5002\n');
    expect(await finished(run(9))).toBe('hello grpc\n');
  });
});
