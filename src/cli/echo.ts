// `hvsock echo`: an echo service, until SIGINT or SIGTERM.
import { createServer } from '../index.js';
import { parseAddress } from '../shorthand.js';
import { EXIT_OK, exitCodeFor } from './exit-codes.js';

export function runEcho(target: string, log: (message: string) => void, json: boolean): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer((socket) => {
      socket.on('error', () => {}); // a peer's reset ends its echo, not the service
      socket.pipe(socket);
    });
    server.once('error', (error) => {
      log(`hvsock: ${error.message}`);
      resolve(exitCodeFor(error));
    });
    server.once('listening', () => {
      const address = server.address();
      log(json ? JSON.stringify({ listening: address }) : `hvsock: echo service listening on ${target}`);
    });
    const stop = (): void => {
      server.close();
      resolve(EXIT_OK);
    };
    process.once('SIGINT', stop).once('SIGTERM', stop);
    server.listen(parseAddress(target, 'address'));
  });
}
