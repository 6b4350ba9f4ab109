// `hvsock echo`: an echo service, until SIGINT or SIGTERM.
import { createServer, type Socket } from '../index.js';
import type { ParsedAddress } from '../address/text.js';
import { addressJson, peerText } from './addresses.js';
import { listeningLine } from './bridge.js';
import { EXIT_OK, exitCodeFor } from './exit-codes.js';
import { failureText } from './messages.js';
import { reportWsl } from './wsl.js';

export interface EchoIo {
  /** --json lines: where the service listens, each connection. */
  out: (text: string) => void;
  /** One line for the user on stderr; the caller prefixes it with the command. */
  log: (message: string) => void;
}

export function runEcho(target: ParsedAddress, io: EchoIo, json: boolean): Promise<number> {
  return new Promise((resolve) => {
    const connections = new Set<Socket>();
    const server = createServer((socket) => {
      connections.add(socket);
      if (json) io.out(JSON.stringify({ connection: addressJson(socket.remoteHvAddress) }));
      else io.log(`connection from ${peerText(socket)}`);
      socket.once('close', () => connections.delete(socket));
      socket.on('error', () => {}); // a peer's reset ends its echo, not the service
      socket.pipe(socket);
    });
    server.once('error', (error) => {
      io.log(failureText(error));
      resolve(exitCodeFor(error));
    });
    reportWsl(server, io.log);
    server.once('listening', () => {
      if (json) io.out(JSON.stringify({ listening: addressJson(server.address()) }));
      else io.log(listeningLine(server));
    });
    const stop = (): void => {
      server.close();
      // close() alone waits for every client to leave: an idle one would keep
      // the service running past the signal that should stop it.
      for (const socket of connections) socket.destroy();
      resolve(EXIT_OK);
    };
    process.once('SIGINT', stop).once('SIGTERM', stop);
    server.listen(target);
  });
}
