// An echo service: run it on a Hyper-V host (or in a VM) and connect from
// the other side with echo-client.mjs.
//   node examples/echo-server.mjs [service=5000] [machine=any]
import { createServer, parseAddress } from 'hvsock';

const [service = '5000', machine = 'any'] = process.argv.slice(2);

const server = createServer((socket) => {
  const peer = socket.remoteAddress;
  console.log(`connection from ${peer?.vmId ?? peer?.cid}`);
  socket.on('error', (err) => console.error(`connection error: ${err.message}`));
  socket.pipe(socket);
});
server.on('error', (err) => {
  console.error(`echo server: ${err.message}`);
  process.exitCode = 1;
});
server.listen(parseAddress(`${machine}:${service}`), () => {
  const { cid, port, vmId, serviceId } = server.address();
  console.log(`echo server listening: cid ${cid ?? '-'} port ${port ?? '-'} / vmId ${vmId ?? '-'} serviceId ${serviceId ?? '-'}`);
});
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => server.close());
