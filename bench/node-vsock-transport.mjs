// One measurement with the `node-vsock` addon (npm node-vsock-linux-x64-gnu),
// another vsock binding for Node, for comparison: it gives every socket
// threads of its own (a blocking connect or accept thread, then a blocking
// receive thread) and has no stream layer: writes are blocking send() calls
// on the event loop's thread, and data arrives as events of up to 8 KiB.
//   node bench/node-vsock-transport.mjs bulk MIB CHUNK_BYTES | pingpong COUNT | connect COUNT | idle COUNT
// Same measurements and the same server-in-a-child set-up as node-transport.mjs.
// Its end() shuts down both directions, so the bulk server acknowledges after
// counting the bytes it was told to expect rather than at end of stream.
import { spawn } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { idleCount } from './fd-limit.mjs';

// The benchmark's own dependency, installed into bench/deps by npm run bench.
const { VsockSocket: Addon } = createRequire(new URL('deps/package.json', import.meta.url))('node-vsock-linux-x64-gnu');
const VMADDR_CID_LOCAL = 1;

/** The addon's handle with its callback turned into events ('_connect', '_data', '_connection', 'end', '_error', ...). */
function open(fd) {
  const events = new EventEmitter();
  const handle = new Addon((err, eventName, ...args) => {
    if (err) events.emit('_error', err);
    else events.emit(eventName, ...args);
  }, fd);
  events.on('_error', () => {}); // a peer's close while a receive thread waits is not a failure here
  return { handle, events };
}

const [mode, countArg, chunkArg] = process.argv.slice(2);
const peakRssMiB = () => process.resourceUsage().maxRSS / 1024;
const rssMiB = () => process.memoryUsage().rss / (1024 * 1024);
// Only our own lines: the addon could print on stdout too.
const say = (line) => console.log(`bench: ${line}`);

if (mode === 'serve') {
  const serverMode = countArg;
  const expected = Number(chunkArg); // bulk: bytes per connection; idle: connections
  let accepted = 0;
  const handlers = {
    bulk: ({ handle, events }) => {
      let received = 0;
      events.on('_data', (data) => {
        received += data.length;
        if (received === expected) handle.writeBuffer(Buffer.from('k'));
      });
    },
    pingpong: ({ handle, events }) => events.on('_data', (data) => handle.writeBuffer(data)),
    connect: ({ handle }) => handle.close(),
    idle: () => {
      if (++accepted === expected) say('all accepted');
    },
  };
  const { handle: server, events } = open();
  // The addon binds the port it is given: try random ones until one is free.
  let port;
  for (;;) {
    port = 20000 + Math.floor(Math.random() * 40000);
    try {
      server.listen(port);
      break;
    } catch {}
  }
  events.on('_connection', (fd) => {
    const socket = open(fd);
    if (serverMode !== 'connect') socket.handle.startRecv();
    handlers[serverMode](socket);
  });
  say(port);
  process.stdin.resume();
  await once(process.stdin, 'end');
  say(JSON.stringify({ maxRssMiB: peakRssMiB(), rssMiB: rssMiB() }));
  process.exit(0);
}

const count = mode === 'idle' ? idleCount(Number(countArg)) : Number(countArg);
const bulkBytes = (mib) => mib * 1024 * 1024;
async function* ourLines(input) {
  for await (const line of input) if (line.startsWith('bench: ')) yield line.slice('bench: '.length);
}

/** A server for one client run of `size` (bulk: MiB per connection), read from its first line. */
async function startServer(size) {
  const expected = mode === 'bulk' ? bulkBytes(size) : size;
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), 'serve', mode, String(expected)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = ourLines(createInterface({ input: child.stdout }));
  const port = Number((await lines.next()).value);
  return { child, lines, port };
}

async function dial(port, receive) {
  const socket = open();
  socket.handle.connect(VMADDR_CID_LOCAL, port);
  await once(socket.events, '_connect');
  if (receive) socket.handle.startRecv();
  return socket;
}

async function bulk(port, mib) {
  const { handle, events } = await dial(port, true);
  const chunk = Buffer.alloc(Number(chunkArg), 7);
  const writes = bulkBytes(mib) / chunk.length;
  for (let i = 0; i < writes; i++) handle.writeBuffer(chunk); // blocks until sent
  await once(events, '_data');
  handle.close();
}

async function pingpong(port, rounds) {
  const { handle, events } = await dial(port, true);
  const byte = Buffer.from('x');
  for (let i = 0; i < rounds; i++) {
    handle.writeBuffer(byte);
    await once(events, '_data');
  }
  handle.close();
}

async function connections(port, n) {
  for (let i = 0; i < n; i++) (await dial(port, false)).handle.close();
}

/** n connections, each with its receive thread running as a used socket would have, left open. */
async function idle(port, n, lines) {
  const rssBefore = rssMiB();
  const sockets = [];
  let next = 0;
  const dialer = async () => {
    while (next < n) {
      next++;
      sockets.push(await dial(port, true));
    }
  };
  await Promise.all(Array.from({ length: Math.min(64, n) }, dialer));
  if (n > 0) await lines.next(); // 'all accepted'
  return { rssBefore, rssAfter: rssMiB(), sockets };
}

let result;
if (mode === 'idle') {
  const { child, lines, port } = await startServer(count);
  const { rssBefore, rssAfter } = await idle(port, count, lines);
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
  // Warm-up as in node-transport.mjs; a bulk server expects one size, so the
  // warm-up has a server of its own.
  const warmUp = Math.max(1, Math.ceil(count / 10));
  const warm = await startServer(warmUp);
  await run(warm.port, warmUp);
  warm.child.stdin.end();
  await warm.lines.next();
  const { child, lines, port } = await startServer(count);
  const started = process.hrtime.bigint();
  await run(port, count);
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
say(JSON.stringify(result));
process.exit(0);
