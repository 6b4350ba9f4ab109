// The factory functions of node:net's shape: createServer, connect (alias
// createConnection), and localCid.
import { systemError } from '../errors/errors.js';
import { hostPlatform } from '../transport/platform.js';
import { loadBinding } from '../transport/native.js';
import type { ConnectOptions, ServerOptions } from './options.js';
import { Server, type ConnectionListener } from './server.js';
import { Socket } from './socket.js';

/** Makes a Server, as net.createServer() does; the listener is added for 'connection'. Call listen() on it. */
export function createServer(connectionListener?: ConnectionListener): Server;
export function createServer(options?: ServerOptions, connectionListener?: ConnectionListener): Server;
export function createServer(
  options?: ServerOptions | ConnectionListener,
  connectionListener?: ConnectionListener,
): Server {
  return new Server(options, connectionListener);
}

/**
 * Opens a connection: `connect({ host, port })`, `connect({ cid, port })`,
 * `connect({ vmId, serviceId })`, `connect('parent:5000')` or
 * `connect(port[, host | cid])`; the listener is added for 'connect'.
 */
export function connect(options: ConnectOptions, connectListener?: () => void): Socket;
export function connect(address: string, connectListener?: () => void): Socket;
export function connect(port: number, host?: string | number, connectListener?: () => void): Socket;
export function connect(port: number, connectListener?: () => void): Socket;
export function connect(...args: unknown[]): Socket {
  const first = args[0];
  // The options the new Socket takes, as node:net's connect() hands its options to new Socket().
  const { allowHalfOpen, onread } = first !== null && typeof first === 'object' ? (first as ConnectOptions) : {};
  const socket = new Socket({
    ...(allowHalfOpen === undefined ? {} : { allowHalfOpen }),
    ...(onread === undefined ? {} : { onread }),
  });
  return (socket.connect as (...a: unknown[]) => Socket)(...args);
}

/** The same function as connect(), under node:net's other name. */
export const createConnection = connect;

/** This machine's vsock context ID (Linux). Throws a system error where there is none. */
export function localCid(): number {
  hostPlatform('localCid');
  const cid = loadBinding().localCid();
  if (cid < 0) throw systemError(cid, 'ioctl');
  return cid;
}
