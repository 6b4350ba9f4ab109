// A listening Hyper-V / vsock socket with node:net's Server behaviour:
// 'listening' after listen(), 'connection' per accepted socket, close() that
// stops accepting at once and emits 'close' when the last connection is gone.
// listen({ wsl: true, port }) follows WSL 2's VM across restarts (wsl-listener.ts).
import { EventEmitter } from 'node:events';
import { onAbort, type Unsubscribe } from './abort.js';
import type { HvSocketAddress, ResolvedAddress } from '../address/address.js';
import { ERR_SERVER_ALREADY_LISTEN, ERR_SERVER_NOT_RUNNING, systemError, type HvSocketError } from '../errors/errors.js';
import { errorAddress } from '../address/address.js';
import { loadBinding, type NativeHandle } from '../transport/native.js';
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
import { applySocketOptions, hostPlatform, uvErrno, type SocketOption, type SocketPlatform } from '../transport/platform.js';
import { Socket } from './socket.js';
import type { DropEvent, ServerEvents } from './server-events.js';
import { typedEventEmitter } from './typed-events.js';
import { kWslFollow, planWslListen, wantsWsl, WslListener, type InternalWslListenOptions, type WslListenOptions } from './wsl-listener.js';

/** Node's default backlog. */
const DEFAULT_BACKLOG = 511;
/** How long accepting pauses when the process is out of descriptors or memory. */
const ACCEPT_RETRY_MS = 100;

/** A 'connection' listener: it gets each accepted Socket. */
export type ConnectionListener = (socket: Socket) => void;

/** A listening socket, or why it could not be made. */
type Opened = { handle: NativeHandle } | { errno: number; syscall: string; windowsError: number };

/** A Hyper-V / vsock server with node:net's Server behaviour: listen(), 'connection' per accepted Socket, close(). */
export class Server extends typedEventEmitter<ServerEvents>(EventEmitter) {
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
  #acceptRetry: NodeJS.Timeout | null = null;
  #stopWatchingSignal: Unsubscribe | null = null;
  /** Set while the server follows WSL (listen({ wsl: true })), bound or waiting. */
  #wsl: WslListener | null = null;

  constructor(options?: ServerOptions | ConnectionListener, connectionListener?: ConnectionListener) {
    const validated = validateServerOptions(typeof options === 'function' ? undefined : options);
    // Without the option, EventEmitter takes events.captureRejections, as node:net's Server does.
    super(validated.captureRejections === undefined ? undefined : { captureRejections: validated.captureRejections });
    if (typeof options === 'function') {
      connectionListener = options;
      options = undefined;
    }
    const { allowHalfOpen = false, pauseOnConnect = false } = validated;
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
   * listen(options[, callback]) with `{ host?, port }`, `{ cid?, port }` or
   * `{ vmId?, serviceId }` (the machine defaults to "any"), `{ fd }` to adopt
   * a listening socket, `{ wsl: true, port }` (or host 'wsl') to follow WSL
   * 2's VM (Windows); a short-form address (`'any:5000'`); or
   * listen(port[, host][, backlog][, callback]). `{ port: 0 }` picks a free
   * port on Linux.
   */
  listen(options?: ListenOptions & WslListenOptions, callback?: () => void): this;
  listen(address: string, backlog?: number, callback?: () => void): this;
  listen(address: string, callback?: () => void): this;
  listen(port: number, host?: string, backlog?: number, callback?: () => void): this;
  listen(port: number, host?: string, callback?: () => void): this;
  listen(port: number, backlog?: number, callback?: () => void): this;
  listen(port: number, callback?: () => void): this;
  listen(callback?: () => void): this;
  listen(...args: unknown[]): this {
    const [options, callback] = normalizeListenArgs(args);
    const platform = this.#transport ?? hostPlatform('listen');
    if (wantsWsl(options as InternalWslListenOptions)) return this.#listenOnWsl(options, platform, callback);
    const adopting = options.fd !== undefined;
    const target = adopting ? undefined : platform.resolve(options, 'listen');
    const socketOptions = platform.socketOptions(options);
    const acceptedOptions = platform.acceptedSocketOptions(options);
    if (!this.#begin(options, callback)) return this;

    const listener = this.#listenOn(platform, options, target, socketOptions, acceptedOptions);
    if (listener instanceof Error) {
      process.nextTick(() => this.emit('error', listener));
      return this;
    }
    if (options.signal !== undefined) this.#stopWatchingSignal = onAbort(options.signal, () => this.close());
    process.nextTick(() => {
      if (this.#handle === listener) this.emit('listening');
    });
    return this;
  }

  /**
   * The part of listen() after the arguments are checked and before any
   * socket exists: false when a pre-aborted signal ends it here (then the
   * server just closes, as node:net's does).
   */
  #begin(options: ListenOptions, callback: (() => void) | undefined): boolean {
    if (this.#handle !== null || this.#wsl !== null) throw ERR_SERVER_ALREADY_LISTEN();
    if (callback !== undefined) this.once('listening', callback);
    if (options.signal?.aborted) {
      process.nextTick(() => this.close());
      return false;
    }
    return true;
  }

  /** A socket bound to `target` (or adopted from options.fd) and listening, or the failed call. */
  #open(
    platform: SocketPlatform,
    options: ListenOptions,
    target: ResolvedAddress | undefined,
    socketOptions: SocketOption[],
    acceptedOptions: SocketOption[],
  ): Opened {
    const handle = new (loadBinding().SocketHandle)();
    const fail = (errno: number, syscall: string): Opened => {
      const { windowsError } = handle;
      // An adopted socket that failed here is still its owner's: the engine
      // leaves it open (and as it was).
      handle.close();
      return { errno, syscall, windowsError };
    };
    // socket(), bind() and listen() failures are all 'listen' errors, as in
    // node:net (EADDRINUSE from bind is `listen EADDRINUSE`).
    if (target === undefined) {
      const err = handle.adopt(options.fd as number, platform.family);
      if (err < 0) return fail(err, 'listen');
    } else {
      let err = handle.open(platform.family, platform.protocol);
      if (err < 0) return fail(err, 'listen');
      err = applySocketOptions(handle, socketOptions);
      if (err < 0) return fail(err, 'setsockopt');
      err = handle.bind(target.sockaddr);
      if (err < 0) return fail(err, 'listen');
    }
    // An adopted socket may already listen; listening again only updates the backlog.
    let err = handle.listen(options.backlog ?? DEFAULT_BACKLOG);
    if (err < 0) return fail(err, 'listen');
    // Set by the engine on every accept socket: on Windows before AcceptEx,
    // the only moment HVSOCKET_CONNECTED_SUSPEND can shape the connection.
    err = handle.setAcceptOptions(acceptedOptions);
    if (err < 0) return fail(err, 'setsockopt');
    handle.onconnection = (status, peer) => this.#onConnection(status, peer);
    // On Windows an accept that cannot be posted is not a listen failure: the
    // engine reports it as an accept error and keeps trying.
    err = handle.readStart();
    if (err < 0) return fail(err, 'listen');
    return { handle };
  }

  /** Opens a listener on `target` and makes it this server's: the listener, or the error as listen() reports it. */
  #listenOn(
    platform: SocketPlatform,
    options: ListenOptions,
    target: ResolvedAddress | undefined,
    socketOptions: SocketOption[],
    acceptedOptions: SocketOption[],
  ): NativeHandle | HvSocketError {
    const opened = this.#open(platform, options, target, socketOptions, acceptedOptions);
    if ('errno' in opened) {
      return systemError(opened.errno, opened.syscall, { ...errorAddress(target?.address), describeCode: true, windowsError: opened.windowsError });
    }
    this.#use(opened.handle, platform, target);
    return opened.handle;
  }

  /** Makes `handle` this server's listener. */
  #use(handle: NativeHandle, platform: SocketPlatform, target: ResolvedAddress | undefined): void {
    if (!this.#refed) handle.unref();
    this.#handle = handle;
    this.#platform = platform;
    const raw = handle.getsockname();
    this.#address = typeof raw === 'number' ? (target?.address ?? null) : platform.decode(raw);
  }

  /**
   * listen({ wsl: true, ... }): checks everything now, as listen() does, then
   * binds WSL's VM once it is found and again after each restart
   * (wsl-listener.ts). While WSL is down the server waits ('wsldown'), it
   * does not fail.
   */
  #listenOnWsl(options: InternalWslListenOptions, platform: SocketPlatform, callback: (() => void) | undefined): this {
    const plan = planWslListen(options, platform);
    if (!this.#begin(options, callback)) return this;
    const wsl = new WslListener(platform, plan, options[kWslFollow], {
      listenOn: (target) => {
        this.#closeListener();
        try {
          return this.#listenOn(platform, plan.service, target, plan.socketOptions, plan.acceptedOptions);
        } catch (error) {
          // No native binary: what listen() throws at once arrives here after the lookup.
          return error as Error;
        }
      },
      isListening: (listener) => this.#handle === listener,
      listening: () => this.emit('listening'),
      restarted: (event) => this.emit('wslrestart', event),
      down: (error) => this.emit('wsldown', error),
      failed: (error) => {
        process.nextTick(() => this.emit('error', error as HvSocketError));
        this.close();
      },
    });
    this.#wsl = wsl;
    wsl.setKeepAlive(this.#refed);
    if (options.signal !== undefined) this.#stopWatchingSignal = onAbort(options.signal, () => this.close());
    wsl.start();
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
    // As node:net, anything but a function is ignored (not thrown at).
    if (typeof callback === 'function') {
      if (this.#handle === null && this.#wsl === null) this.once('close', () => callback(ERR_SERVER_NOT_RUNNING()));
      else this.once('close', callback);
    }
    this.#wsl?.stop();
    this.#wsl = null;
    this.#closeListener();
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
    this.#wsl?.setKeepAlive(this.#handle === null);
    return this;
  }

  unref(): this {
    this.#refed = false;
    this.#handle?.unref();
    this.#wsl?.setKeepAlive(false);
    return this;
  }

  /**
   * With captureRejections (the option or events.captureRejections), a
   * rejected async listener lands here: for 'connection' it destroys that
   * socket with the error, as node:net's Server does, rather than the
   * server's 'error' (or the process) getting it.
   */
  override [EventEmitter.captureRejectionSymbol](error: Error, event: string | symbol, ...args: unknown[]): void {
    if (event === 'connection' && args[0] instanceof Socket) args[0].destroy(error);
    else this.emit('error', error);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#handle === null) return;
    await new Promise<void>((resolve, reject) => this.close((error) => (error ? reject(error) : resolve())));
  }

  #onConnection(status: number, peer: NativeHandle | undefined): void {
    const platform = this.#platform;
    if (status < 0 || peer === undefined || platform === null) {
      const error = systemError(status, 'accept', { windowsError: this.#handle?.windowsError });
      if (isResourceExhaustion(status)) this.#pauseAccepting();
      this.emit('error', error);
      return;
    }
    if (this.maxConnections !== undefined && this.#connections.size >= this.maxConnections) {
      const raw = peer.getpeername();
      peer.close();
      const local = this.#address ?? undefined;
      const remote = typeof raw === 'number' ? undefined : platform.decode(raw);
      this.emit('drop', {
        localAddress: local?.address,
        localPort: local?.port,
        localFamily: local?.family,
        remoteAddress: remote?.address,
        remotePort: remote?.port,
        remoteFamily: remote?.family,
        localHvAddress: local,
        remoteHvAddress: remote,
      } satisfies DropEvent);
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

  /** Closes the listening socket, if any; its late callbacks go nowhere. */
  #closeListener(): void {
    if (this.#handle === null) return;
    this.#handle.onconnection = undefined;
    this.#handle.close();
    this.#handle = null;
  }

  #emitCloseIfDrained(): void {
    if (this.#handle !== null || this.#wsl !== null || this.#connections.size > 0) return;
    process.nextTick(() => {
      if (this.#handle === null && this.#wsl === null && this.#connections.size === 0) this.emit('close');
    });
  }
}

function isResourceExhaustion(errno: number): boolean {
  return ['EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM'].some((code) => errno === uvErrno(code));
}
