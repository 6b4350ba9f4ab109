// Sends a message to an echo service and prints the reply.
//   node examples/echo-client.mjs [machine=parent] [service=5000] [message...]
import { connect, parseAddress } from 'hvsock';

const [machine = 'parent', service = '5000', ...words] = process.argv.slice(2);
const message = words.length > 0 ? words.join(' ') : `hello from ${process.platform} pid ${process.pid}`;

const socket = connect({ ...parseAddress(`${machine}:${service}`), connectTimeout: 10_000 }, () => {
  console.log(`connected to ${JSON.stringify(socket.remoteAddress)}`);
  socket.end(message);
});
const chunks = [];
socket.on('data', (chunk) => chunks.push(chunk));
socket.on('end', () => console.log(`echoed: ${Buffer.concat(chunks).toString()}`));
socket.on('error', (err) => {
  console.error(`echo client: ${err.message}`);
  process.exitCode = 1;
});
