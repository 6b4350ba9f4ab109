// Serving an existing node:http, node:https or node:http2 server (or
// anything built on one: Express, Fastify, Koa) on an hvsock address: an
// hvsock listener hands each connection to the server as its own TCP
// listener would ('connection'), so routing, TLS, keep-alive and timeouts
// are the server's. Closing the server closes the hvsock listener too.
import type { EventEmitter } from 'node:events';
import { createServer } from '../net/api.js';
import type { Server as HvServer } from '../net/server.js';
import type { ListenOptions } from '../net/options.js';
import { parseAddress } from '../address/text.js';
import { ERR_INVALID_ARG_TYPE } from '../errors/errors.js';

/** What serve() takes: a server that accepts connections through its 'connection' event (every net.Server does). */
export interface ConnectionServer extends EventEmitter {
  close(callback?: (error?: Error) => void): unknown;
}

/**
 * Serves `server` on `address` ('any:80', 'wsl:8080', or listen()'s
 * options). Returns the hvsock listener ('listening', 'error', address()).
 * Its errors are also the server's 'error'. server.close() closes it.
 */
export function serve(server: ConnectionServer, address: string | ListenOptions): HvServer {
  if (server === null || typeof server !== 'object' || typeof server.emit !== 'function' || typeof server.close !== 'function') {
    throw ERR_INVALID_ARG_TYPE('server', 'http.Server', server);
  }
  const options: ListenOptions = typeof address === 'string' ? parseAddress(address, 'address') : address;
  const listener = createServer((socket) => server.emit('connection', socket));
  listener.on('error', (error) => server.emit('error', error));
  // server.close() stops the hvsock listener at once, as it stops its own
  // (an own property over the prototype's method; the server's own close
  // then runs as always). 'close' covers a server closed another way.
  const stop = (): void => {
    if (listener.listening) listener.close();
  };
  const close = server.close;
  Object.defineProperty(server, 'close', {
    value: function (this: ConnectionServer, ...args: Parameters<ConnectionServer['close']>) {
      stop();
      return close.apply(this, args);
    },
    writable: true,
    configurable: true,
  });
  server.once('close', stop);
  listener.listen(options);
  return listener;
}
