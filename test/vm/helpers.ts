// Shared plumbing for the vsock suite: servers on free ports, promise
// wrappers and fd counting. Everything here talks to the real kernel.
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { connect, createServer, type ListenOptions, type Server, type Socket, type ServerOptions } from '../../src/index.js';

export const LOOPBACK = 1;

/** Accepted sockets per server, so a failed test cannot leave closeServer() waiting forever. */
const accepted = new WeakMap<Server, Set<Socket>>();
/** Servers a test opened; setup.ts closes them after each test. */
const openServers = new Set<Server>();

export function track(server: Server): Server {
  openServers.add(server);
  return server;
}

export async function closeAllServers(): Promise<void> {
  const servers = [...openServers];
  openServers.clear();
  await Promise.all(servers.map(closeServer));
}

/** A server on a kernel-chosen port (with listenOptions beside the port); resolves once listening. */
export async function listen(
  onConnection: (socket: Socket) => void,
  options: ServerOptions = {},
  listenOptions: Omit<ListenOptions, 'port'> = {},
): Promise<{ server: Server; port: number }> {
  const peers = new Set<Socket>();
  const server = createServer(options, (socket) => {
    peers.add(socket);
    socket.once('close', () => peers.delete(socket));
    onConnection(socket);
  });
  accepted.set(server, peers);
  track(server);
  server.listen({ ...listenOptions, port: 0 });
  await once(server, 'listening');
  const port = server.address()?.port;
  if (port === undefined) throw new Error('server has no port');
  return { server, port };
}

export function echoServer(): Promise<{ server: Server; port: number }> {
  return listen((socket) => socket.pipe(socket));
}

export async function connected(port: number, options: Record<string, unknown> = {}): Promise<Socket> {
  const socket = connect({ cid: LOOPBACK, port, ...options });
  await once(socket, 'connect');
  return socket;
}

/**
 * All bytes until 'end'. Events, not `for await`: the async iterator destroys
 * the stream when it finishes, which would defeat every half-close test.
 */
export function readAll(socket: Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('end', () => resolve(Buffer.concat(chunks)));
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('closed before end')));
    socket.resume();
  });
}

/** Closes the server and whatever connections a test left open. */
export async function closeServer(server: Server): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  for (const peer of accepted.get(server) ?? []) peer.destroy();
  await closed;
}

export function openFdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

/** Resolves with the error the emitter emits next. */
export async function nextError(emitter: NodeJS.EventEmitter): Promise<NodeJS.ErrnoException> {
  const [error] = (await once(emitter, 'error').catch((e: unknown) => [e])) as [NodeJS.ErrnoException];
  return error;
}
