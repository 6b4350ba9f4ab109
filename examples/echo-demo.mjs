// `npm run demo`: the echo service end to end over vsock loopback. The
// server and the client are the unchanged host and guest examples, each in
// its own process, as they would run on either side of a Hyper-V boundary;
// the client reaches the server by three spellings of one address.
//   node examples/echo-demo.mjs
// It takes no arguments (--help prints the usage). It stops at the first
// client that fails: where this kernel has no vsock loopback, that client's
// connect fails at once with EADDRNOTAVAIL saying so (it would otherwise go
// to this machine's host), and the demo says FAILED.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { serviceIdFromPort } from 'hvsock';
import { commandLine } from './cli.mjs';

const cli = commandLine('echo-demo', 'node examples/echo-demo.mjs', [
  'Starts echo-server.mjs on any:<port> and runs echo-client.mjs against loopback:<port>, 1:<port> and loopback:<service GUID>',
  'in their own processes, over vsock loopback (CID 1: Linux needs vsock_loopback loaded). Prints "demo: ok" or "demo: FAILED".',
]);
if (cli.args.length > 0) cli.usageError('takes no arguments');

const here = (name) => fileURLToPath(new URL(name, import.meta.url));
const port = 20000 + (process.pid % 10000);

const server = spawn(process.execPath, [here('echo-server.mjs'), `any:${port}`], { stdio: ['ignore', 'pipe', 'inherit'] });
const serverLines = createInterface({ input: server.stdout });
serverLines.on('line', (line) => console.log(`[server] ${line}`));
// The first line says it listens; an exit before it means it could not (it said why on stderr).
const started = await Promise.race([once(serverLines, 'line').then(() => true), once(server, 'exit').then(() => false)]);
if (!started) {
  console.error('demo: the echo server did not start');
  process.exit(1);
}

let failed = false;
for (const address of [`loopback:${port}`, `1:${port}`, `loopback:${serviceIdFromPort(port)}`]) {
  const client = spawn(process.execPath, [here('echo-client.mjs'), address, `ping via ${address}`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  createInterface({ input: client.stdout }).on('line', (line) => console.log(`[client] ${line}`));
  const [code] = await once(client, 'close'); // 'close': after its last line
  if (code !== 0) {
    // It said why on stderr; the other spellings would only say it again.
    failed = true;
    break;
  }
}
server.kill('SIGTERM');
const [serverCode] = await once(server, 'close');
failed ||= serverCode !== 0;
console.log(failed ? 'demo: FAILED' : 'demo: ok');
process.exit(failed ? 1 : 0);
