// One measurement with one Node transport, in a process of its own so that
// its peak memory is its own:
//   node bench/node-transport.mjs hvsock|net bulk|pingpong|connect COUNT
// The same code drives hvsock (vsock loopback) and node:net (TCP loopback);
// only how a server listens and a client connects differs.
import { once } from 'node:events';
import net from 'node:net';
import * as hvsock from 'hvsock';

const [transport, mode, countText] = process.argv.slice(2);
const count = Number(countText);

const api =
  transport === 'hvsock'
    ? {
        createServer: (onConnection) => hvsock.createServer(onConnection),
        listen: (server, cb) => server.listen({ port: 0 }, cb),
        connect: (port) => hvsock.connect({ cid: 1, port }),
      }
    : {
        createServer: (onConnection) => net.createServer(onConnection),
        listen: (server, cb) => server.listen(0, '127.0.0.1', cb),
        connect: (port) => net.connect({ host: '127.0.0.1', port }),
      };

const handlers = {
  bulk: (socket) => {
    socket.resume();
    socket.on('end', () => socket.end('k'));
  },
  pingpong: (socket) => socket.on('data', (data) => socket.write(data)),
  connect: (socket) => socket.destroy(),
};

const server = api.createServer(handlers[mode]);
await new Promise((resolve) => api.listen(server, resolve));
const port = server.address().port;

async function bulk(mib) {
  const socket = api.connect(port);
  await once(socket, 'connect');
  const chunk = Buffer.alloc(1024 * 1024, 7);
  for (let i = 0; i < mib; i++) {
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

const run = { bulk, pingpong, connect: connections }[mode];
// Unmeasured warm-up, so both transports are timed with optimized code: under
// the guest's emulated CPU the JIT takes long enough to dominate short runs.
await run(Math.max(1, Math.ceil(count / 10)));
const started = process.hrtime.bigint();
await run(count);
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const result =
  mode === 'bulk'
    ? { mibPerSec: count / seconds }
    : mode === 'pingpong'
      ? { usPerRoundTrip: (seconds * 1e6) / count }
      : { connPerSec: count / seconds };
server.close();
result.maxRssMiB = process.resourceUsage().maxRSS / 1024;
console.log(JSON.stringify(result));
