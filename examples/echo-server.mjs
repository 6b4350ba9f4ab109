// An echo service: run it on a Hyper-V host (or in a VM) and connect from
// the other side with echo-client.mjs.
//   node examples/echo-server.mjs [[machine:]service]
// Default any:5000: connections from every VM (on a host) or from the host
// (in a guest); on a Hyper-V host register the service first. A server that
// cannot listen says why in one line and exits 1; a client's failed
// connection is one line and the service goes on. SIGINT/SIGTERM stop it.
import { createServer, formatAddress } from 'hvsock';
import { commandLine, explain } from './cli.mjs';

const cli = commandLine('echo-server', 'node examples/echo-server.mjs [[machine:]service]', [
  'Echoes every connection back. Default address any:5000. Stops on SIGINT/SIGTERM.',
]);
if (cli.args.length > 1) cli.usageError('too many arguments');
const address = cli.address(cli.args[0] ?? 'any:5000');

const connections = new Set();
const server = createServer((socket) => {
  const peer = formatAddress(socket.remoteHvAddress ?? {});
  console.log(`connection from ${peer}`);
  connections.add(socket);
  socket.on('close', () => connections.delete(socket));
  socket.on('error', (error) => console.error(`echo-server: the connection from ${peer} failed: ${explain(error)}`));
  socket.pipe(socket);
});
server.on('error', (error) => {
  console.error(`echo-server: ${explain(error)}`);
  process.exitCode = 1;
});
try {
  server.listen(address, () => console.log(`echo server listening on ${formatAddress(server.address())}`));
} catch (error) {
  cli.fail(explain(error)); // e.g. no native binary, or an address this OS cannot use
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    server.close();
    for (const socket of connections) socket.destroy();
  });
}
