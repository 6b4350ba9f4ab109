// A listening Hyper-V / vsock socket with node:net's Server behaviour:
// 'listening' after listen(), 'connection' per accepted socket, close() that
// stops accepting at once and emits 'close' when the last connection is gone.
import { EventEmitter } from 'node:events';
import { onAbort, type Unsubscribe } from './abort.js';
import type { HvSocketAddress } from './address.js';
import { ERR_SERVER_ALREADY_LISTEN, ERR_SERVER_NOT_RUNNING, systemError } from './errors.js';
import { loadBinding, type NativeHandle } from './native.js';
import {
  kAccepted,
  kTransport,
  normalizeListenArgs,
  validateCallback,
  validateServerOptions,
  type InternalServerOptions,
  type InternalSocketOptions,
  type ListenOptions,
  type ServerOptions,
} from './options.js';
import { applySocketOptions, hostPlatform, uvErrno, type SocketOption, type SocketPlatform } from './platform.js';
import { Socket } from './socket.js';

/** Node's default backlog. */
const DEFAULT_BACKLOG = 511;
/** How long accepting pauses when the process is out of descriptors or memory. */
const ACCEPT_RETRY_MS = 100;

export type ConnectionListener = (socket: Socket) => void;

export class Server extends EventEmitter {
  /** Further connections are closed at once ('drop' event) while this many are open. */
  maxConnections: number | undefined = undefined;

  #handle: NativeHandle | null = null;
  #address: HvSocketAddress | null = null;
  #connections = new Set<Socket>();
  #allowHalfOpen: boolean;
  #pauseOnConnect: boolean;
  #refed = true;
  #transport: SocketPlatform | undefined;
  #platform: SocketPlatform | null = null;
  #acceptedOptions: SocketOption[] = [];
  #acceptRetry: NodeJS.Timeout | null = null;
  #stopWatchingSignal: Unsubscribe | null = null;

  constructor(options?: ServerOptions | ConnectionListener, connectionListener?: ConnectionListener) {
    super();
    if (typeof options === 'function') {
      connectionListener = options;
      options = undefined;
    }
    const { allowHalfOpen = false, pauseOnConnect = false } = validateServerOptions(options);
    this.#allowHalfOpen = allowHalfOpen;
    this.#pauseOnConnect = pauseOnConnect;
    this.#transport = (options as InternalServerOptions | undefined)?.[kTransport];
    if (connectionListener !== undefined) {
      validateCallback(connectionListener, 'connectionListener');
      this.on('connection', connectionListener);
    }
  }

  get listening(): boolean {
    return this.#handle !== null;
  }

  /**
   * listen(options[, callback]) with `{ cid?, port }` or `{ vmId?, serviceId }`
   * (machine part defaults to "any"), `{ fd }` to adopt a listening socket,
   * or listen(port[, backlog][, callback]). `{ port: 0 }` picks a free port on Linux.
   */
  listen(options?: ListenOptions, callback?: () => void): this;
  listen(port: number, backlog?: number, callback?: () => void): this;
  listen(port: number, callback?: () => void): this;
  listen(callback?: () => void): this;
  listen(...args: unknown[]): this {
    const [options, callback] = normalizeListenArgs(args);
    const platform = this.#transport ?? hostPlatform('listen');
    const adopting = options.fd !== undefined;
    const target = adopting ? undefined : platform.resolve(options, 'listen');
    const socketOptions = platform.socketOptions(options);
    const acceptedOptions = platform.acceptedSocketOptions(options);
    if (this.#handle !== null) throw ERR_SERVER_ALREADY_LISTEN();
    if (callback !== undefined) this.once('listening', callback);
    if (options.signal?.aborted) {
      process.nextTick(() => this.close());
      return this;
    }

    const handle = new (loadBinding().SocketHandle)();
    const fail = (errno: number, syscall: string): this => {
      handle.close();
      const error = systemError(errno, syscall, target?.address);
      process.nextTick(() => this.emit('error', error));
      return this;
    };
    if (adopting) {
      const err = handle.adopt(options.fd as number, platform.family);
      if (err < 0) return fail(err, 'listen');
    } else {
      let err = handle.open(platform.family, platform.protocol);
      if (err < 0) return fail(err, 'socket');
      err = applySocketOptions(handle, socketOptions);
      if (err < 0) return fail(err, 'setsockopt');
      err = handle.bind((target as NonNullable<typeof target>).sockaddr);
      if (err < 0) return fail(err, 'bind');
    }
    // An adopted socket may already listen; listening again only updates the backlog.
    let err = handle.listen(options.backlog ?? DEFAULT_BACKLOG);
    if (err < 0) return fail(err, 'listen');
    handle.onconnection = (status, peer) => this.#onConnection(status, peer);
    err = handle.readStart();
    if (err < 0) return fail(err, 'listen');
    if (!this.#refed) handle.unref();
    this.#handle = handle;
    this.#platform = platform;
    this.#acceptedOptions = acceptedOptions;
    const raw = handle.getsockname();
    this.#address = typeof raw === 'number' ? (target?.address ?? null) : platform.decode(raw);
    if (options.signal !== undefined) this.#stopWatchingSignal = onAbort(options.signal, () => this.close());
    process.nextTick(() => {
      if (this.#handle === handle) this.emit('listening');
    });
    return this;
  }

  /** The bound address in every form that has a meaning on this OS, or null when not listening. */
  address(): HvSocketAddress | null {
    return this.#handle === null ? null : this.#address;
  }

  /**
   * Stops accepting new connections now; 'close' follows once every existing
   * connection has closed. The callback gets ERR_SERVER_NOT_RUNNING if the
   * server was not listening.
   */
  close(callback?: (error?: Error) => void): this {
    if (callback !== undefined) {
      validateCallback(callback);
      if (this.#handle === null) this.once('close', () => callback(ERR_SERVER_NOT_RUNNING()));
      else this.once('close', callback);
    }
    if (this.#handle !== null) {
      this.#handle.onconnection = undefined;
      this.#handle.close();
      this.#handle = null;
    }
    if (this.#acceptRetry !== null) clearTimeout(this.#acceptRetry);
    this.#acceptRetry = null;
    this.#stopWatchingSignal?.();
    this.#stopWatchingSignal = null;
    this.#emitCloseIfDrained();
    return this;
  }

  getConnections(callback: (error: Error | null, count: number) => void): this {
    validateCallback(callback);
    const count = this.#connections.size;
    process.nextTick(() => callback(null, count));
    return this;
  }

  ref(): this {
    this.#refed = true;
    this.#handle?.ref();
    return this;
  }

  unref(): this {
    this.#refed = false;
    this.#handle?.unref();
    return this;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#handle === null) return;
    await new Promise<void>((resolve, reject) => this.close((error) => (error ? reject(error) : resolve())));
  }

  #onConnection(status: number, peer: NativeHandle | undefined): void {
    const platform = this.#platform;
    if (status < 0 || peer === undefined || platform === null) {
      if (isResourceExhaustion(status)) this.#pauseAccepting();
      this.emit('error', systemError(status, 'accept'));
      return;
    }
    const err = applySocketOptions(peer, this.#acceptedOptions);
    if (err < 0) {
      peer.close();
      this.emit('error', systemError(err, 'setsockopt'));
      return;
    }
    if (this.maxConnections !== undefined && this.#connections.size >= this.maxConnections) {
      const raw = peer.getpeername();
      peer.close();
      // node:net's 'drop' payload, with typed addresses.
      this.emit('drop', {
        localAddress: this.#address ?? undefined,
        remoteAddress: typeof raw === 'number' ? undefined : platform.decode(raw),
      });
      return;
    }
    const options: InternalSocketOptions = {
      allowHalfOpen: this.#allowHalfOpen,
      [kAccepted]: {
        handle: peer,
        platform,
        pauseOnCreate: this.#pauseOnConnect,
        onClose: (socket) => {
          this.#connections.delete(socket as Socket);
          this.#emitCloseIfDrained();
        },
      },
    };
    const socket = new Socket(options);
    this.#connections.add(socket);
    this.emit('connection', socket);
  }

  // Out of descriptors, the listener stays readable: back off instead of
  // spinning, as libuv does for TCP with its reserve descriptor.
  #pauseAccepting(): void {
    const handle = this.#handle;
    if (handle === null || this.#acceptRetry !== null) return;
    handle.readStop();
    this.#acceptRetry = setTimeout(() => {
      this.#acceptRetry = null;
      if (this.#handle === handle) handle.readStart();
    }, ACCEPT_RETRY_MS);
    this.#acceptRetry.unref();
  }

  #emitCloseIfDrained(): void {
    if (this.#handle !== null || this.#connections.size > 0) return;
    process.nextTick(() => {
      if (this.#handle === null && this.#connections.size === 0) this.emit('close');
    });
  }
}

function isResourceExhaustion(errno: number): boolean {
  return ['EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM'].some((code) => errno === uvErrno(code));
}
