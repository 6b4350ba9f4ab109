// Sends a message to an echo service (echo-server.mjs, `hvsock echo`) and
// prints the reply.
//   node examples/echo-client.mjs [[machine:]service] [message...]
// Default parent:5000, the walkthrough's case: a guest reaching the echo
// service on its host. On one machine: loopback:5000; from a host to a VM:
// <vm-id>:5000. A refused or failed connection, or a reply that differs from
// the message, is one line on stderr and exit code 1; a bad address exits 2.
import { connect, formatAddress } from 'hvsock';
import { commandLine, explain } from './cli.mjs';

const cli = commandLine('echo-client', 'node examples/echo-client.mjs [[machine:]service] [--] [message...]', [
  'Sends the message to an echo service and prints the reply. Default address parent:5000 (a guest reaching its host).',
  'A message word that starts with "-" goes after --.',
]);
const [addressText = 'parent:5000', ...words] = cli.args;
const address = cli.address(addressText);
const message = words.length > 0 ? words.join(' ') : `hello from ${process.platform} pid ${process.pid}`;

let socket;
try {
  socket = connect({ ...address, connectTimeout: 10_000 });
} catch (error) {
  cli.fail(explain(error)); // e.g. no native binary, or an address this OS cannot use
}
socket.on('connect', () => {
  console.log(`connected to ${formatAddress(socket.remoteHvAddress ?? {})}`);
  socket.end(message);
});
const chunks = [];
socket.on('data', (chunk) => chunks.push(chunk));
socket.on('end', () => {
  const reply = Buffer.concat(chunks).toString();
  if (reply !== message) cli.fail(`the reply ${JSON.stringify(reply)} is not the message sent`);
  console.log(`echoed: ${reply}`);
});
socket.on('error', (error) => {
  socket.destroy();
  cli.fail(explain(error));
});
