// `npm run demo`: the echo service end to end over vsock loopback. The
// server and the client are the unchanged host and guest scripts, each in
// its own process, as they would run on either side of a Hyper-V boundary.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { serviceIdFromPort } from 'hvsock';

const here = (name) => fileURLToPath(new URL(name, import.meta.url));
const port = String(20000 + (process.pid % 10000));

const server = spawn(process.execPath, [here('echo-server.mjs'), port], { stdio: ['ignore', 'pipe', 'inherit'] });
const lines = createInterface({ input: server.stdout });
lines.on('line', (line) => console.log(`[server] ${line}`));
const [first] = await once(lines, 'line');
if (!first.startsWith('echo server listening')) {
  console.error('demo: the server did not start');
  process.exit(1);
}

let failed = false;
for (const [machine, service] of [['loopback', port], ['1', port], ['loopback', serviceIdFromPort(Number(port))]]) {
  const client = spawn(process.execPath, [here('echo-client.mjs'), machine, service, `ping via ${machine} ${service}`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  createInterface({ input: client.stdout }).on('line', (line) => console.log(`[client] ${line}`));
  const [code] = await once(client, 'exit');
  failed ||= code !== 0;
}
server.kill('SIGTERM');
await once(server, 'exit');
console.log(failed ? 'demo: FAILED' : 'demo: ok');
process.exit(failed ? 1 : 0);

