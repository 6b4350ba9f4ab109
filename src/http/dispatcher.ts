// fetch() and undici over hvsock: an undici Agent whose connections are
// hvsock sockets (undici's `connect` option, nodejs/undici:docs/api/Client.md), so
// `fetch(url, { dispatcher })`, undici.request() and pipelining work with
// undici's own pooling. undici is an optional peer: loaded only here, and
// a missing one is an error that says what to install.
import { createRequire } from 'node:module';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { Dispatcher } from 'undici-types';
import type { HvDialOptions } from './agent.js';
import { createDialer } from './agent.js';

export interface HvDispatcherOptions extends HvDialOptions {
  /** Options for undici's Agent (connections, pipelining, keepAliveTimeout…), besides connect. */
  agent?: Record<string, unknown>;
}

export const ERR_HVSOCK_UNDICI_MISSING = 'ERR_HVSOCK_UNDICI_MISSING';

function loadUndici(): { Agent: new (options: Record<string, unknown>) => Dispatcher } {
  try {
    return createRequire(__filename)('undici') as { Agent: new (options: Record<string, unknown>) => Dispatcher };
  } catch (cause) {
    const error = new Error('hvsockDispatcher needs the undici package: npm install undici', { cause });
    (error as Error & { code: string }).code = ERR_HVSOCK_UNDICI_MISSING;
    throw error;
  }
}

interface ConnectOptions {
  hostname: string;
  host?: string;
  protocol: string;
  port: string;
  servername?: string;
}

/**
 * An undici dispatcher over hvsock: `hvsockDispatcher('parent:5000')` or
 * `hvsockDispatcher({ resolve: (host, port) => 'vm:' + host + ':' + port })`.
 * https: URLs get TLS on the hvsock connection, servername from the URL.
 * Typed as the Dispatcher of @types/node's undici-types, which Node's
 * global fetch takes; with undici's own fetch, name its type:
 * `hvsockDispatcher<import('undici').Dispatcher>('parent:5000')`.
 */
export function hvsockDispatcher<D extends object = Dispatcher>(target: string | HvDispatcherOptions): D {
  const options: HvDispatcherOptions = typeof target === 'string' ? { target } : target;
  const { agent = {}, ...dialOptions } = options;
  const dialer = createDialer(dialOptions);
  const { Agent } = loadUndici();
  // The caller names which undici's Dispatcher type this is (see above).
  return new Agent({
    ...agent,
    connect: (connect: ConnectOptions, callback: (error: Error | null, socket: unknown) => void) => {
      const https = connect.protocol === 'https:';
      const socket = dialer.open(connect.hostname, Number(connect.port || (https ? 443 : 80)));
      // Both are EventEmitters; their typed overloads do not unite.
      const stream: Duplex = https ? tls.connect({ socket, servername: connect.servername ?? connect.hostname, ALPNProtocols: ['http/1.1'] }) : socket;
      const onError = (error: Error): void => callback(error, null);
      stream.once('error', onError);
      stream.once(https ? 'secureConnect' : 'connect', () => {
        stream.removeListener('error', onError);
        callback(null, stream);
      });
    },
  }) as unknown as D;
}
