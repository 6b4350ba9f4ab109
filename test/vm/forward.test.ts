// `hvsock forward` over real vsock (CID 1 in the guest), with real peers:
// OpenSSH (sshd, ssh, scp, and ssh's ProxyCommand through `hvsock connect`),
// curl against a node:http server, vsock and unix echo servers, 1,000 held
// connections with the forwarders' memory read from /proc, the allowlist
// turning a real vsock peer away, and a graceful drain on SIGTERM.
//
// Two forwarder processes serve every case, each from a --config file (the
// rules differ per case, e.g. the allowlist), with --json --verbose so the
// test reads what they say as events:
//   outer: tcp / unix listen ends -> loopback:P (the "host" side)
//   inner: any:P (vsock listen, --allow per rule) -> tcp / unix / vsock targets
// so ssh, scp and curl go TCP -> outer -> vsock -> inner -> TCP.
// sshd, ssh, scp and curl come from this machine's root (mounted in the
// guest); test/vm/provision.mjs installs them.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AF_VSOCK, VMADDR_CID_ANY, VMADDR_PORT_ANY, connect, createServer, encodeSockaddrVm, type Server as HvServer, type Socket as HvSocket } from '../../src/index.js';
import { loadBinding } from '../../src/transport/native.js';
import { LOOPBACK } from './helpers.js';

const CLI = join(__dirname, '..', '..', 'dist', 'cjs', 'cli', 'main.js');
const MiB = 1024 * 1024;
const vsockPort = (): number => 20000 + Math.floor(Math.random() * 1_000_000);
const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');
const fileHash = (path: string): string => sha256(readFileSync(path));

type Line = Record<string, unknown> & { event: string; rule?: string };

/** A forwarder process whose --json lines are kept, and can be waited for. */
class ForwardProcess {
  readonly child: ChildProcess;
  readonly lines: Line[] = [];
  readonly exited: Promise<number | null>;
  stderr = '';
  readonly #waiters = new Set<{ test: (line: Line) => boolean; resolve: (line: Line) => void }>();

  constructor(config: unknown, dir: string, name: string) {
    const file = join(dir, `${name}.json`);
    writeFileSync(file, JSON.stringify(config));
    this.child = spawn(process.execPath, [CLI, 'forward', '--json', '--verbose', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    // 'close', not 'exit': the last lines on stdout are read by then.
    this.exited = once(this.child, 'close').then(([code]) => code as number | null);
    this.child.stderr?.on('data', (chunk) => (this.stderr += String(chunk)));
    createInterface({ input: this.child.stdout! }).on('line', (text) => {
      const line = JSON.parse(text) as Line;
      this.lines.push(line);
      for (const waiter of this.#waiters) {
        if (waiter.test(line)) {
          this.#waiters.delete(waiter);
          waiter.resolve(line);
        }
      }
    });
  }

  /** The first line, said already or to come, that passes `test`. */
  next(test: (line: Line) => boolean, after = 0): Promise<Line> {
    const said = this.lines.slice(after).find(test);
    if (said !== undefined) return Promise.resolve(said);
    return new Promise((resolve, reject) => {
      this.#waiters.add({ test, resolve });
      void this.exited.then((code) => reject(new Error(`forwarder exited (${code}) while waited on; stderr: ${this.stderr}`)));
    });
  }

  /** The first `n` lines after `after` that pass `test`, waiting for those still to come. */
  async several(test: (line: Line) => boolean, n: number, after: number): Promise<Line[]> {
    for (;;) {
      const found = this.lines.slice(after).filter(test);
      if (found.length >= n) return found.slice(0, n);
      await this.next(test, this.lines.length);
    }
  }

  /** Where rule `name` listens, as the listening line says it ("tcp:127.0.0.1:40123"). */
  listenOf(name: string): string {
    return this.lines.find((l) => l.event === 'listening' && l.rule === name)?.listen as string;
  }

  tcpPortOf(name: string): number {
    return Number(this.listenOf(name).split(':').pop());
  }

  /** Every rule's counters, asked for with SIGUSR1. */
  async stats(): Promise<Record<string, Line>> {
    const from = this.lines.length;
    const rules = this.lines.filter((l) => l.event === 'listening').length;
    this.child.kill('SIGUSR1');
    const out: Record<string, Line> = {};
    for (let i = 0; i < rules; i++) {
      const line = await this.next((l) => l.event === 'stats' && out[l.rule as string] === undefined, from);
      out[line.rule as string] = line;
    }
    return out;
  }

  /** VmRSS from /proc, in KiB. */
  rssKiB(): number {
    const status = readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
    return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]);
  }
}

/** A free TCP port on 127.0.0.1 for a program that cannot take port 0 (sshd). */
async function freeTcpPort(): Promise<number> {
  const probe = net.createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Runs a program to its end; resolves with its exit code and output (never rejects on a non-zero exit). */
function run(command: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = performance.now();
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += String(chunk)));
  child.stderr.on('data', (chunk) => (stderr += String(chunk)));
  return once(child, 'close').then(([code]) => ({ code: code as number | null, stdout, stderr, ms: performance.now() - started }));
}

async function listening<T extends net.Server | HvServer>(server: T, listen: (s: T) => void): Promise<T> {
  listen(server);
  await once(server, 'listening');
  return server;
}

/** Bytes back from one vsock or unix connection after writing `data` and ending. */
function roundTrip(client: net.Socket | HvSocket, data: Buffer): Promise<Buffer> {
  // Both are node:net-shaped Duplexes; their typed overloads do not unite.
  const socket = client as net.Socket;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('end', () => resolve(Buffer.concat(chunks)));
    socket.once('error', reject);
    socket.once('connect', () => socket.end(data));
  });
}

describe('hvsock forward with real peers over vsock', () => {
  let dir: string;
  let sshd: ChildProcess;
  let sshdLog = '';
  let outer: ForwardProcess;
  let inner: ForwardProcess;
  /** The inner forwarder's VmRSS (KiB) once listening, before any connection. */
  let idleRss: number;
  const ports = { ssh: vsockPort(), sshProxy: vsockPort(), http: vsockPort(), vv: vsockPort(), vecho: vsockPort(), unix: vsockPort(), mass: vsockPort(), denied: vsockPort(), drain: vsockPort() };
  let sshdPort: number;
  let key: string;
  // The HTTP server counts its connections and requests; bodies are known by hash.
  const httpSeen = { connections: 0, requests: 0 };
  const bodies = new Map<number, Buffer>();
  let httpServer: http.Server;
  let tcpEcho: net.Server;
  let vsockEcho: HvServer;
  let unixEcho: net.Server;
  // The drain case's sink: counts what arrives, and answers its length and hash once the client ends.
  const sinkSeen = { bytes: 0, waiters: [] as Array<{ bytes: number; resolve: () => void }> };
  let sink: net.Server;

  const sshOptions = (): string[] => [
    '-F', '/dev/null', '-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes',
    '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR',
  ];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hvsock-forward-'));
    // sshd as root on a free port, its keys and config in the temp dir.
    key = join(dir, 'client');
    for (const name of ['host', 'client']) {
      const made = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, name)]);
      expect(made.status, String(made.stderr)).toBe(0);
    }
    writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${key}.pub`));
    mkdirSync('/run/sshd', { recursive: true });
    sshdPort = await freeTcpPort();
    writeFileSync(
      join(dir, 'sshd_config'),
      [
        `Port ${sshdPort}`, 'ListenAddress 127.0.0.1', `HostKey ${join(dir, 'host')}`, `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        `PidFile ${join(dir, 'sshd.pid')}`, 'StrictModes no', 'UsePAM no', 'PermitRootLogin prohibit-password', 'Subsystem sftp internal-sftp', '',
      ].join('\n'),
    );
    sshd = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
    const sshdUp = new Promise<void>((resolve, reject) => {
      sshd.stderr?.on('data', (chunk) => {
        sshdLog += String(chunk);
        if (sshdLog.includes('Server listening')) resolve();
      });
      sshd.once('exit', (code) => reject(new Error(`sshd exited (${code}): ${sshdLog}`)));
    });

    httpServer = http.createServer((req, res) => {
      httpSeen.requests++;
      const body = bodies.get(Number(req.url?.slice(1)));
      res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'application/octet-stream' });
      res.end(body);
    });
    httpServer.on('connection', () => httpSeen.connections++);
    tcpEcho = net.createServer({ allowHalfOpen: true }, (socket) => socket.pipe(socket));
    vsockEcho = createServer({ allowHalfOpen: true }, (socket) => socket.pipe(socket));
    unixEcho = net.createServer({ allowHalfOpen: true }, (socket) => socket.pipe(socket));
    sink = net.createServer({ allowHalfOpen: true }, (socket) => {
      const hash = createHash('sha256');
      let bytes = 0;
      socket.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        bytes += chunk.length;
        sinkSeen.bytes += chunk.length;
        for (const waiter of sinkSeen.waiters.filter((w) => sinkSeen.bytes >= w.bytes)) {
          sinkSeen.waiters.splice(sinkSeen.waiters.indexOf(waiter), 1);
          waiter.resolve();
        }
      });
      socket.on('end', () => socket.end(`${bytes} ${hash.digest('hex')}`));
    });
    await Promise.all([
      listening(httpServer, (s) => s.listen(0, '127.0.0.1')),
      listening(tcpEcho, (s) => s.listen(0, '127.0.0.1')),
      listening(vsockEcho, (s) => s.listen({ port: ports.vecho })),
      listening(unixEcho, (s) => s.listen(join(dir, 'echo.sock'))),
      listening(sink, (s) => s.listen(0, '127.0.0.1')),
      sshdUp,
    ]);
    const tcp = (server: net.Server): string => `tcp:127.0.0.1:${(server.address() as net.AddressInfo).port}`;

    inner = new ForwardProcess(
      {
        forwards: [
          { name: 'ssh', listen: `any:${ports.ssh}`, target: `tcp:127.0.0.1:${sshdPort}`, allow: ['loopback'] },
          { name: 'ssh-proxy', listen: `any:${ports.sshProxy}`, target: `tcp:127.0.0.1:${sshdPort}`, allow: ['loopback'] },
          { name: 'http', listen: `any:${ports.http}`, target: tcp(httpServer), allow: ['loopback'] },
          { name: 'vsock', listen: `any:${ports.vv}`, target: `loopback:${ports.vecho}`, allow: ['loopback'] },
          { name: 'unix', listen: `any:${ports.unix}`, target: `unix:${join(dir, 'echo.sock')}`, allow: ['loopback'] },
          { name: 'mass', listen: `any:${ports.mass}`, target: tcp(tcpEcho), allow: ['loopback'], maxConnections: 1100 },
          { name: 'denied', listen: `any:${ports.denied}`, target: tcp(httpServer), allow: ['2'] },
          { name: 'drain', listen: `any:${ports.drain}`, target: tcp(sink), allow: ['loopback'], drainTimeout: 60_000 },
        ],
      },
      dir,
      'inner',
    );
    outer = new ForwardProcess(
      {
        forwards: [
          { name: 'ssh', listen: 'tcp:0', target: `loopback:${ports.ssh}` },
          { name: 'http', listen: 'tcp:0', target: `loopback:${ports.http}` },
          { name: 'unix', listen: `unix:${join(dir, 'front.sock')}`, target: `loopback:${ports.unix}` },
        ],
      },
      dir,
      'outer',
    );
    await Promise.all([inner.next((l) => l.event === 'ready'), outer.next((l) => l.event === 'ready')]);
    idleRss = inner.rssKiB();
  });

  afterAll(async () => {
    for (const f of [outer, inner]) if (f?.child.exitCode === null) f.child.kill('SIGTERM');
    sshd?.kill('SIGTERM');
    await Promise.all([outer?.exited, inner?.exited]);
    await Promise.all(
      [httpServer, tcpEcho, unixEcho, sink, vsockEcho].filter(Boolean).map((s) => new Promise((resolve) => (s as net.Server).close(resolve))),
    );
  });

  // The cheapest path that holds a thousand connections in one forwarder:
  // vsock clients (this process) -> inner (vsock listen -> tcp) -> TCP echo.
  it('holds 1,000 connections open through vsock -> tcp at once, each echoing a byte, within 64 MiB of the forwarder\'s idle memory', async () => {
    const clients: HvSocket[] = [];
    const started = performance.now();
    // In batches: a thousand connects at once would only measure the listen backlog.
    for (let batch = 0; batch < 10; batch++) {
      await Promise.all(
        Array.from({ length: 100 }, async () => {
          const socket = connect({ cid: LOOPBACK, port: ports.mass, allowHalfOpen: true });
          clients.push(socket);
          await once(socket, 'connect');
          socket.write('x');
          const [byte] = (await once(socket, 'data')) as [Buffer];
          expect(byte.toString()).toBe('x');
        }),
      );
    }
    const heldMs = performance.now() - started;
    const held = inner.rssKiB();
    const stats = await inner.stats();
    expect(stats.mass).toMatchObject({ active: 1000, total: 1000, refused: 0, errors: 0, bytesIn: 1000, bytesOut: 1000 });
    const mib = (kib: number): string => (kib / 1024).toFixed(1);
    console.log(
      `forward: 1000 connections held through vsock -> tcp (opened and echoed in ${(heldMs / 1000).toFixed(1)} s): ` +
        `forwarder VmRSS ${mib(idleRss)} MiB idle -> ${mib(held)} MiB holding them (+${mib(held - idleRss)} MiB, ${((held - idleRss) / 1000).toFixed(1)} KiB each)`,
    );
    expect(held - idleRss).toBeLessThan(64 * 1024);
    // Each client's end passes through the forwarder and the echo's end comes back.
    await Promise.all(
      clients.map(async (socket) => {
        const closed = once(socket, 'close');
        socket.end();
        await closed;
      }),
    );
  });

  // Both ways at once (the emulated CPU spends most of an SSH session on key
  // exchange and the login shell, so running them side by side saves time and
  // puts two sessions through the inner forwarder together). The ProxyCommand
  // sessions come in on a rule of their own, so each way's are told apart.
  it('carries OpenSSH both ways: ssh -p and scp of 16 MiB each way through tcp -> vsock -> tcp, and ssh/scp with ProxyCommand "hvsock connect"; checksums equal', async () => {
    const port = String(outer.tcpPortOf('ssh'));
    const up = join(dir, 'up.bin');
    const down = join(dir, 'down.bin');
    const proxied = join(dir, 'proxied.bin');
    for (const file of [up, down, proxied]) writeFileSync(file, randomBytes(16 * MiB));
    const innerFrom = inner.lines.length;
    const outerFrom = outer.lines.length;
    const viaTcp = (async () => {
      // Upload, then a command that hashes the uploaded copy on the server's side, then download.
      const scpUp = await run('scp', [...sshOptions(), '-P', port, up, `root@127.0.0.1:${join(dir, 'up.copy')}`]);
      expect(scpUp.code, scpUp.stderr).toBe(0);
      const command = await run('ssh', [...sshOptions(), '-p', port, 'root@127.0.0.1', `echo forwarded $((6 * 7)); sha256sum ${join(dir, 'up.copy')}`]);
      expect(command.code, command.stderr).toBe(0);
      expect(command.stdout).toMatch(/^forwarded 42$/m);
      expect(command.stdout).toContain(`${fileHash(up)}  ${join(dir, 'up.copy')}`);
      const scpDown = await run('scp', [...sshOptions(), '-P', port, `root@127.0.0.1:${down}`, join(dir, 'down.copy')]);
      expect(scpDown.code, scpDown.stderr).toBe(0);
      expect(fileHash(join(dir, 'down.copy'))).toBe(fileHash(down));
      return `scp 16 MiB up ${(scpUp.ms / 1000).toFixed(1)} s, command ${(command.ms / 1000).toFixed(1)} s, scp 16 MiB down ${(scpDown.ms / 1000).toFixed(1)} s`;
    })();
    const viaProxy = (async () => {
      const proxy = ['-o', `ProxyCommand=${process.execPath} ${CLI} connect loopback:${ports.sshProxy}`];
      const scp = await run('scp', [...sshOptions(), ...proxy, proxied, `root@hvsock-proxy:${join(dir, 'proxied.copy')}`]);
      expect(scp.code, scp.stderr).toBe(0);
      const command = await run('ssh', [...sshOptions(), ...proxy, 'root@hvsock-proxy', `echo proxied; sha256sum ${join(dir, 'proxied.copy')}`]);
      expect(command.code, command.stderr).toBe(0);
      expect(command.stdout).toMatch(/^proxied$/m);
      expect(command.stdout).toContain(`${fileHash(proxied)}  ${join(dir, 'proxied.copy')}`);
      return `scp 16 MiB up ${(scp.ms / 1000).toFixed(1)} s, command ${(command.ms / 1000).toFixed(1)} s`;
    })();
    const [tcpTimes, proxyTimes] = await Promise.all([viaTcp, viaProxy]);
    // Every session went through the vsock forward as one connection that closed cleanly, the scp ones carrying the file.
    const tcpEnds = await inner.several((l) => l.event === 'end' && l.rule === 'ssh', 3, innerFrom);
    expect(tcpEnds.map((l) => l.outcome)).toEqual(['closed', 'closed', 'closed']);
    expect(tcpEnds[0]!.bytesIn).toBeGreaterThan(16 * MiB);
    expect(tcpEnds[2]!.bytesOut).toBeGreaterThan(16 * MiB);
    const outerEnds = await outer.several((l) => l.event === 'end' && l.rule === 'ssh', 3, outerFrom);
    expect(outerEnds.map((l) => l.outcome)).toEqual(['closed', 'closed', 'closed']);
    expect(outerEnds.map((l) => l.bytesIn)).toEqual(tcpEnds.map((l) => l.bytesIn));
    // ProxyCommand: hvsock connect came in from CID 1.
    const proxyEnds = await inner.several((l) => l.event === 'end' && l.rule === 'ssh-proxy', 2, innerFrom);
    expect(proxyEnds.every((l) => l.outcome === 'closed' && /^loopback:\d+$/.test(l.peer as string))).toBe(true);
    expect(proxyEnds[0]!.bytesIn).toBeGreaterThan(16 * MiB);
    console.log(`forward: ssh via tcp -> vsock -> tcp: ${tcpTimes}; ssh with ProxyCommand hvsock connect: ${proxyTimes} (both at once)`);
  });

  it('serves 200 keep-alive requests from curl through tcp -> vsock -> tcp on few connections, every body intact', async () => {
    for (let i = 0; i < 200; i++) bodies.set(i, randomBytes(1 + ((i * 7919) % (64 * 1024))));
    const out = join(dir, 'curl');
    mkdirSync(out);
    const base = `http://127.0.0.1:${outer.tcpPortOf('http')}`;
    const before = { ...httpSeen };
    const curl = await run('curl', [
      '-sS', '--fail', '--output-dir', out, '--remote-name-all', '-w', '%{http_code} %{num_connects}\n',
      ...Array.from({ length: 200 }, (_, i) => `${base}/${i}`),
    ]);
    expect(curl.code, curl.stderr).toBe(0);
    const results = curl.stdout.trim().split('\n');
    expect(results).toHaveLength(200);
    expect(results.every((line) => line.startsWith('200 '))).toBe(true);
    const connects = results.reduce((n, line) => n + Number(line.split(' ')[1]), 0);
    expect(readdirSync(out)).toHaveLength(200);
    for (const [i, body] of bodies) expect(fileHash(join(out, String(i))), `body ${i}`).toBe(sha256(body));
    expect(httpSeen.requests - before.requests).toBe(200);
    const used = httpSeen.connections - before.connections;
    expect(used).toBeLessThanOrEqual(2);
    const total = [...bodies.values()].reduce((n, b) => n + b.length, 0);
    console.log(`forward: curl 200 keep-alive requests (${(total / MiB).toFixed(1)} MiB of bodies) in ${(curl.ms / 1000).toFixed(1)} s over ${connects} curl connect(s), ${used} server connection(s)`);
  });

  it('forwards vsock to vsock, and unix -> vsock -> unix, byte for byte with half-close', async () => {
    const data = randomBytes(2 * MiB);
    const viaVsock = await roundTrip(connect({ cid: LOOPBACK, port: ports.vv, allowHalfOpen: true }), data);
    expect(viaVsock.equals(data)).toBe(true);
    const viaUnix = await roundTrip(net.connect({ path: join(dir, 'front.sock'), allowHalfOpen: true }), data);
    expect(viaUnix.equals(data)).toBe(true);
    const vsockEnd = await inner.next((l) => l.event === 'end' && l.rule === 'vsock');
    expect(vsockEnd).toMatchObject({ outcome: 'closed', bytesIn: data.length, bytesOut: data.length, peer: expect.stringMatching(/^loopback:\d+$/) });
    const [unixIn, unixOut] = await Promise.all([
      inner.next((l) => l.event === 'end' && l.rule === 'unix'),
      outer.next((l) => l.event === 'end' && l.rule === 'unix'),
    ]);
    expect(unixIn).toMatchObject({ outcome: 'closed', bytesIn: data.length, bytesOut: data.length });
    expect(unixOut).toMatchObject({ outcome: 'closed', bytesIn: data.length, bytesOut: data.length, peer: 'unix' });
  });

  it('turns away a vsock peer not on the allowlist at once, counts it and says who and why', async () => {
    const from = inner.lines.length;
    const before = { ...httpSeen };
    const socket = connect({ cid: LOOPBACK, port: ports.denied });
    const got: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => got.push(chunk));
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    const local = socket.address() as { port: number };
    await once(socket, 'close');
    expect(Buffer.concat(got)).toHaveLength(0);
    const refusal = await inner.next((l) => l.event === 'refused' && l.rule === 'denied', from);
    expect(refusal).toMatchObject({ reason: 'not-allowed', peer: `loopback:${local.port}` });
    expect(refusal.message).toBe(`loopback:${local.port} is not on the allowlist`);
    const stats = await inner.stats();
    expect(stats.denied).toMatchObject({ refused: 1, total: 0, active: 0 });
    // Nothing was dialed for it.
    expect(inner.lines.slice(from).some((l) => l.rule === 'denied' && (l.event === 'connection' || l.event === 'end'))).toBe(false);
    expect(httpSeen.connections).toBe(before.connections);
  });

  it('serves an inherited listening vsock socket (fd:3), as systemd socket activation passes it, and exits 0 on SIGTERM', async () => {
    // Made as systemd makes a ListenStream=vsock::PORT socket: socket, bind, listen, passed as fd 3.
    const handle = new (loadBinding().SocketHandle)();
    expect(handle.open(AF_VSOCK, 0)).toBe(0);
    expect(handle.bind(encodeSockaddrVm(VMADDR_CID_ANY, VMADDR_PORT_ANY))).toBe(0);
    expect(handle.listen(16)).toBe(0);
    const echo = await listening(net.createServer((s) => s.pipe(s)), (s) => s.listen(0, '127.0.0.1'));
    const target = `tcp:127.0.0.1:${(echo.address() as net.AddressInfo).port}`;
    const child = spawn(process.execPath, [CLI, 'forward', '--json', '--allow', 'loopback', 'fd:3', target], { stdio: ['ignore', 'pipe', 'pipe', handle.fd] });
    try {
      const lines = createInterface({ input: child.stdout! });
      const [first] = (await once(lines, 'line')) as [string];
      const listeningLine = JSON.parse(first) as Line;
      expect(listeningLine).toMatchObject({ event: 'listening', target, allow: 'loopback' });
      // The service manager's copy closes; the forwarder's stays open.
      handle.close();
      const port = Number(String(listeningLine.listen).split(':').pop());
      expect((await roundTrip(connect({ cid: LOOPBACK, port, allowHalfOpen: true }), Buffer.from('activated\n'))).toString()).toBe('activated\n');
      child.kill('SIGTERM');
      expect((await once(child, 'close'))[0]).toBe(0);
    } finally {
      handle.close();
      child.kill();
      echo.close();
    }
  });

  it('drains on SIGTERM: a vsock transfer in flight completes, byte for byte, and the forwarder exits 0', async () => {
    const data = randomBytes(24 * MiB);
    const socket = connect({ cid: LOOPBACK, port: ports.drain, allowHalfOpen: true });
    const reply: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => reply.push(chunk));
    const ended = once(socket, 'end');
    await once(socket, 'connect');
    const write = async (part: Buffer): Promise<void> => {
      for (let at = 0; at < part.length; at += 256 * 1024) {
        if (!socket.write(part.subarray(at, at + 256 * 1024))) await once(socket, 'drain');
      }
    };
    // A first part reaches the sink through the forwarder, then SIGTERM, then the rest.
    await write(data.subarray(0, 8 * MiB));
    if (sinkSeen.bytes < MiB) await new Promise<void>((resolve) => sinkSeen.waiters.push({ bytes: MiB, resolve }));
    const from = inner.lines.length;
    inner.child.kill('SIGTERM');
    const draining = await inner.next((l) => l.event === 'draining', from);
    expect(draining).toMatchObject({ signal: 'SIGTERM' });
    expect(draining.active).toBeGreaterThanOrEqual(1);
    // The forward no longer takes connections: refused by the kernel once the
    // listener is gone, or (accepted just before) turned away as closing.
    const late = connect({ cid: LOOPBACK, port: ports.drain });
    const lateOutcome = await new Promise<string>((resolve) => {
      late.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      late.once('close', () => resolve('closed'));
    });
    if (lateOutcome === 'closed') await inner.next((l) => l.event === 'refused' && l.rule === 'drain' && l.reason === 'closing', from);
    else expect(lateOutcome).toMatch(/^(ECONNREFUSED|ECONNRESET)$/);
    await write(data.subarray(8 * MiB));
    socket.end();
    await ended;
    expect(Buffer.concat(reply).toString()).toBe(`${data.length} ${sha256(data)}`);
    expect(await inner.exited).toBe(0);
    const end = inner.lines.slice(from).find((l) => l.event === 'end' && l.rule === 'drain');
    expect(end).toMatchObject({ outcome: 'closed', bytesIn: data.length });
    expect(inner.lines.at(-1)).toMatchObject({ event: 'closed' });
  });
});
