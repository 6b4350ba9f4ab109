// The sockets and servers one check opens, so that whatever happens in the
// check (a failure, a timeout) they are all closed before the next one, and
// an unexpected 'error' on any of them fails the check instead of crashing
// the process.
import type { EventEmitter } from 'node:events';
import type { AddressInput } from '../address/address.js';
import { createServer, connect } from '../net/api.js';
import type { Server } from '../net/server.js';
import type { Socket } from '../net/socket.js';
import type { BufferSizeOptions, ConnectOptions, ServerOptions } from '../net/options.js';
import type { Loopback } from './loopback.js';

/** Attempts at a free random service (Windows) before giving up. */
const LISTEN_ATTEMPTS = 5;

export class Scope {
  readonly loopback: Loopback;
  #servers = new Set<Server>();
  #sockets = new Set<Socket>();
  #fail: (error: Error) => void = () => {};
  /** Rejects with the first unexpected error any tracked socket or server emits. */
  readonly failure: Promise<never>;

  constructor(loopback: Loopback) {
    this.loopback = loopback;
    this.failure = new Promise<never>((_, reject) => (this.#fail = reject));
    // Nobody may be awaiting it when it rejects (the check already ended).
    this.failure.catch(() => {});
  }

  /** Tracks a socket; its errors fail the check unless the check expects one. */
  track(socket: Socket, expectError = false): Socket {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    if (!expectError) socket.on('error', (error) => this.#fail(error));
    return socket;
  }

  /**
   * A server on this loopback, listening; resolves with it and the address a
   * client connects to. Accepted sockets are tracked like the check's own.
   * `listenOptions` go to listen() beside the loopback address.
   */
  async listen(
    options: ServerOptions,
    onConnection: (socket: Socket) => void,
    listenOptions: BufferSizeOptions = {},
  ): Promise<{ server: Server; address: AddressInput }> {
    for (let attempt = 1; ; attempt++) {
      const server = createServer(options, (socket) => onConnection(this.track(socket)));
      const listenAddress = this.loopback.listenAddress();
      server.listen({ ...listenOptions, ...listenAddress });
      const outcome = await new Promise<Error | undefined>((resolve) => {
        server.once('error', resolve).once('listening', () => resolve(undefined));
      });
      if (outcome === undefined) {
        this.#servers.add(server);
        server.on('error', (error) => this.#fail(error));
        return { server, address: connectAddress(server, listenAddress) };
      }
      if ((outcome as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= LISTEN_ATTEMPTS) throw outcome;
    }
  }

  /** A tracked client connecting to `address`. */
  connect(address: AddressInput, options: Omit<ConnectOptions, keyof AddressInput> = {}, expectError = false): Socket {
    return this.track(connect({ ...options, ...address }), expectError);
  }

  /** Destroys every socket and closes every server this check opened; resolves once all are closed. */
  async dispose(): Promise<void> {
    const closing: Array<Promise<unknown>> = [];
    for (const socket of this.#sockets) {
      if (!socket.destroyed) closing.push(closed(socket));
      socket.destroy();
    }
    for (const server of this.#servers) {
      if (server.listening) {
        closing.push(closed(server));
        server.close();
      }
    }
    this.#sockets.clear();
    this.#servers.clear();
    await Promise.all(closing);
  }
}

/** Resolves on 'close' (events.once would reject on an 'error' before it). */
function closed(emitter: EventEmitter): Promise<void> {
  return new Promise((resolve) => emitter.once('close', () => resolve()));
}

/** Where a client reaches `server`: its bound service on the loopback machine. */
function connectAddress(server: Server, listenAddress: AddressInput): AddressInput {
  const bound = server.address();
  if (listenAddress.cid !== undefined) return { cid: listenAddress.cid, port: bound?.port as number };
  return { vmId: listenAddress.vmId as string, serviceId: bound?.serviceId as string };
}
