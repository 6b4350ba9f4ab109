// `hvsock echo`: an echo service, until SIGINT or SIGTERM.
import { createServer, type Socket } from '../index.js';
import { parseAddress } from '../address/text.js';
import { EXIT_OK, exitCodeFor } from './exit-codes.js';
import { reportWsl } from './wsl.js';

export function runEcho(target: string, log: (message: string) => void, json: boolean): Promise<number> {
  return new Promise((resolve) => {
    const connections = new Set<Socket>();
    const server = createServer((socket) => {
      connections.add(socket);
      socket.once('close', () => connections.delete(socket));
      socket.on('error', () => {}); // a peer's reset ends its echo, not the service
      socket.pipe(socket);
    });
    server.once('error', (error) => {
      log(`hvsock: ${error.message}`);
      resolve(exitCodeFor(error));
    });
    reportWsl(server, log);
    server.once('listening', () => {
      const address = server.address();
      log(json ? JSON.stringify({ listening: address }) : `hvsock: echo service listening on ${target}`);
    });
    const stop = (): void => {
      server.close();
      // close() alone waits for every client to leave: an idle one would keep
      // the service running past the signal that should stop it.
      for (const socket of connections) socket.destroy();
      resolve(EXIT_OK);
    };
    process.once('SIGINT', stop).once('SIGTERM', stop);
    server.listen(parseAddress(target, 'address'));
  });
}
