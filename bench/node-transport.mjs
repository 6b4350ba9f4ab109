// One measurement with one Node transport:
//   node bench/node-transport.mjs hvsock|hvsock-1m|hvsock-tcp|net bulk MIB CHUNK_BYTES | pingpong COUNT | connect COUNT | idle COUNT
// The server runs in a child process (`... serve MODE COUNT`), as it does in
// the C baseline and in real use, where host and guest are different processes.
// The same code drives hvsock (vsock loopback), hvsock's engine, Socket and
// Server over the internal loopback-TCP transport (hvsock-tcp: no vsock, so
// it runs on the bare machine and under Wine), and node:net (TCP loopback);
// only how a server listens and a client connects differs.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as hvsock from 'hvsock';
import { idleCount } from './fd-limit.mjs';

const [transport, mode, countArg, chunkArg] = process.argv.slice(2);

/** The internal transport, found by path as test/engine/helpers.cjs finds it: the package's exports do not reach it. */
function tcpLoopbackOptions() {
  const require = createRequire(import.meta.url);
  const { kTransport, tcpLoopback } = require(join(dirname(require.resolve('hvsock')), 'transport', 'tcp-loopback.js'));
  return { [kTransport]: tcpLoopback };
}

const apis = {
  hvsock: () => ({
    createServer: (onConnection) => hvsock.createServer(onConnection),
    listen: (server, cb) => server.listen({ port: 0 }, cb),
    // The idle run dials 64 at a time; under a loaded emulated CPU the
    // server can take longer than vsock's 2 s default connect timeout to
    // accept them all (seen once in a full run). Only there: the option
    // is one more syscall per connect, which the connection rate would count.
    connect: (port, { patient = false } = {}) => hvsock.connect({ cid: 1, port, ...(patient ? { connectTimeout: 60_000 } : {}) }),
  }),
  // hvsock over vsock with bufferSize 1 MiB on both ends (vsock's default is
  // 256 KiB): the VM section's bulk rows show what the option buys.
  'hvsock-1m': () => {
    const bufferSize = 1024 * 1024;
    return {
      createServer: (onConnection) => hvsock.createServer(onConnection),
      listen: (server, cb) => server.listen({ port: 0, bufferSize }, cb),
      connect: (port) => hvsock.connect({ cid: 1, port, bufferSize }),
    };
  },
  'hvsock-tcp': () => {
    const internal = tcpLoopbackOptions();
    return {
      createServer: (onConnection) => new hvsock.Server(internal, onConnection),
      listen: (server, cb) => server.listen({ port: 0 }, cb),
      connect: (port) => new hvsock.Socket(internal).connect({ port }),
    };
  },
  net: () => ({
    createServer: (onConnection) => net.createServer(onConnection),
    listen: (server, cb) => server.listen(0, '127.0.0.1', cb),
    connect: (port) => net.connect({ host: '127.0.0.1', port }),
  }),
};
if (!(transport in apis)) throw new Error(`unknown transport ${transport}: hvsock, hvsock-1m, hvsock-tcp or net`);
const api = apis[transport]();

const peakRssMiB = () => process.resourceUsage().maxRSS / 1024;
const rssMiB = () => process.memoryUsage().rss / (1024 * 1024);

if (mode === 'serve') {
  const expected = Number(chunkArg); // for idle: say when this many are in
  let accepted = 0;
  const handlers = {
    bulk: (socket) => {
      socket.resume();
      socket.on('end', () => socket.end('k'));
    },
    pingpong: (socket) => socket.on('data', (data) => socket.write(data)),
    connect: (socket) => socket.destroy(),
    idle: (socket) => {
      socket.on('error', () => {});
      if (++accepted === expected) console.log('all accepted');
    },
  };
  const server = api.createServer(handlers[countArg]);
  await new Promise((resolve) => api.listen(server, resolve));
  console.log(server.address().port);
  // The parent closes our stdin when it is done measuring.
  process.stdin.resume();
  await once(process.stdin, 'end');
  console.log(JSON.stringify({ maxRssMiB: peakRssMiB(), rssMiB: rssMiB() }));
  process.exit(0);
}

const count = mode === 'idle' ? idleCount(Number(countArg)) : Number(countArg);
const child = spawn(process.execPath, [fileURLToPath(import.meta.url), transport, 'serve', mode, String(count)], {
  stdio: ['pipe', 'pipe', 'inherit'],
});
const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
const port = Number((await lines.next()).value);

async function bulk(mib) {
  const chunkBytes = Number(chunkArg);
  const socket = api.connect(port);
  await once(socket, 'connect');
  const chunk = Buffer.alloc(chunkBytes, 7);
  const writes = (mib * 1024 * 1024) / chunkBytes;
  for (let i = 0; i < writes; i++) {
    if (!socket.write(chunk)) await once(socket, 'drain');
  }
  socket.end();
  await once(socket, 'data');
  socket.destroy();
}

async function pingpong(rounds) {
  const socket = api.connect(port);
  await once(socket, 'connect');
  const byte = Buffer.from('x');
  for (let i = 0; i < rounds; i++) {
    socket.write(byte);
    await once(socket, 'data');
  }
  socket.destroy();
}

async function connections(n) {
  for (let i = 0; i < n; i++) {
    const socket = api.connect(port);
    await once(socket, 'connect');
    socket.destroy();
    await once(socket, 'close');
  }
}

/** Opens n connections (a few dozen dialling at a time) and leaves them open. */
async function idle(n) {
  const rssBefore = rssMiB();
  const sockets = [];
  let next = 0;
  const dialer = async () => {
    while (next < n) {
      next++;
      const socket = api.connect(port, { patient: true });
      sockets.push(socket);
      await once(socket, 'connect');
    }
  };
  await Promise.all(Array.from({ length: Math.min(64, n) }, dialer));
  if (n > 0) await lines.next(); // 'all accepted'
  global.gc?.();
  return { rssBefore, rssAfter: rssMiB(), sockets };
}

let result;
if (mode === 'idle') {
  const { rssBefore, rssAfter } = await idle(count);
  child.stdin.end();
  const server = JSON.parse((await lines.next()).value);
  result = {
    idleConnections: count,
    idleRssMiB: rssAfter,
    idleKiBPerConnection: count > 0 ? ((rssAfter - rssBefore) * 1024) / count : undefined,
    idleServerRssMiB: server.rssMiB,
  };
} else {
  const run = { bulk, pingpong, connect: connections }[mode];
  // Unmeasured warm-up, so every transport is timed with optimized code: under
  // the guest's emulated CPU the JIT takes long enough to dominate short runs.
  await run(Math.max(1, Math.ceil(count / 10)));
  const started = process.hrtime.bigint();
  await run(count);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  result =
    mode === 'bulk'
      ? { mibPerSec: count / seconds }
      : mode === 'pingpong'
        ? { usPerRoundTrip: (seconds * 1e6) / count }
        : { connPerSec: count / seconds };
  child.stdin.end();
  const server = JSON.parse((await lines.next()).value);
  result.maxRssMiB = Math.max(peakRssMiB(), server.maxRssMiB);
}
console.log(JSON.stringify(result));
process.exit(0);
