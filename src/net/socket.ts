// A Hyper-V / vsock stream socket with node:net's Socket behaviour: the same
// event order (connect, ready, data, end, finish, close), half-close through
// end(), idle timeouts, ref/unref, and Node-style errors.
import { Duplex } from 'node:stream';
import { onAbort, type Unsubscribe } from './abort.js';
import type { HvSocketAddress } from '../address/address.js';
import { AbortError, ERR_INVALID_ARG_VALUE, ERR_SOCKET_CLOSED, ERR_SOCKET_CLOSED_BEFORE_CONNECTION, systemError } from '../errors/errors.js';
import { loadBinding, WRITE_PENDING, type NativeHandle } from '../transport/native.js';
import {
  kAccepted,
  kConnectLater,
  kTransport,
  normalizeConnectArgs,
  validateCallback,
  validateIdleTimeout,
  validateSocketOptions,
  type ConnectOptions,
  type InternalSocketOptions,
  type OnReadOptions,
  type SocketOptions,
} from './options.js';
import { hostPlatform, readBufferSize, uvErrno, type SocketPlatform } from '../transport/platform.js';
import { Dialer, type DialingSocket } from './dialer.js';
import { redialSchedule } from './redial.js';
import type { SocketEvents } from './socket-events.js';
import { typedDuplex } from './typed-events.js';

type Callback = (error?: Error | null) => void;

/** The Socket an OS handle belongs to, read by the shared onread/onwrite handlers below. */
const kSocket = Symbol('kSocket');
type OwnedHandle = NativeHandle & { [kSocket]?: Socket | undefined };
/**
 * The handle's onread and onwrite, one pair for every socket: the native
 * side calls them with the handle as `this`. Two closures per socket (and
 * their context) were about 150 bytes of every idle connection. Set in the
 * class's static block, which may call its private methods.
 */
let onHandleRead: (this: OwnedHandle, nread: number, arrayBuffer?: ArrayBuffer) => void;
let onHandleWrite: (this: OwnedHandle, status: number) => void;
/** socket.readyState: the connection's state, named as node:net names it. */
export type SocketReadyState = 'opening' | 'open' | 'readOnly' | 'writeOnly' | 'closed';

/** A Hyper-V / vsock stream socket with node:net's Socket behaviour: a Duplex stream with connect(), half-close, timeouts and Node-style errors. */
export class Socket extends typedDuplex<SocketEvents>(Duplex) {
  /** True between connect() and the 'connect' event (or failure). */
  connecting = false;
  /** Bytes received so far. */
  bytesRead = 0;

  #handle: NativeHandle | null = null;
  #platform: SocketPlatform | null = null;
  #transport: SocketPlatform | undefined;
  #reading = false;
  #refed = true;
  #bytesWritten = 0;
  #writeCallback: Callback | null = null;
  #pendingWrite: { chunks: Buffer[]; callback: Callback } | null = null;
  #local: HvSocketAddress | undefined;
  #remote: HvSocketAddress | undefined;
  #idleMs = 0;
  #idleTimer: NodeJS.Timeout | null = null;
  #onClose: ((socket: Socket) => void) | null = null;
  #stopWatchingSignal: Unsubscribe | null = null;
  /** The connect attempts (dialer.ts), from connect() until connected or destroyed. */
  #dial: Dialer | null = null;
  /** The onread option: where reads go instead of push(); what is left of a chunk when its callback paused. */
  #userRead: { buffer: Uint8Array | null; next: (() => Uint8Array) | null; callback: OnReadOptions['callback']; left: Buffer | null } | null = null;

  static {
    onHandleRead = function (nread, arrayBuffer) {
      const socket = this[kSocket];
      if (socket !== undefined) socket.#onRead(nread, arrayBuffer);
    };
    onHandleWrite = function (status) {
      const socket = this[kSocket];
      if (socket !== undefined) socket.#onWrite(status);
    };
  }

  constructor(options?: SocketOptions) {
    const { allowHalfOpen = false, signal, onread } = validateSocketOptions(options);
    super({ allowHalfOpen, emitClose: false, autoDestroy: true, decodeStrings: true });
    if (signal !== undefined) this.#watchSignal(signal);
    if (onread !== undefined) {
      const { buffer, callback } = onread;
      this.#userRead = typeof buffer === 'function' ? { buffer: null, next: buffer, callback, left: null } : { buffer, next: null, callback, left: null };
    }
    const internal = options as InternalSocketOptions | undefined;
    this.#transport = internal?.[kTransport];
    const accepted = internal?.[kAccepted];
    if (accepted !== undefined) {
      // An accepted connection: already open.
      this.#platform = accepted.platform;
      this.#onClose = accepted.onClose;
      this.#attach(accepted.handle);
      if (accepted.pauseOnCreate) this.pause();
      else this.read(0);
    }
  }

  /**
   * Connects to `{ host, port }`, `{ cid, port }` or `{ vmId, serviceId }`
   * (a machine part and a service part, in either form), to a short-form
   * address (`'parent:5000'`), or `connect(port[, host | cid][, listener])`.
   */
  connect(options: ConnectOptions, connectListener?: () => void): this;
  connect(address: string, connectListener?: () => void): this;
  connect(port: number, host?: string | number, connectListener?: () => void): this;
  connect(port: number, connectListener?: () => void): this;
  connect(...args: unknown[]): this {
    const platform = this.#transport ?? hostPlatform('connect');
    const [options, listener] = normalizeConnectArgs(args, platform.maxConnectTimeout);
    const target = platform.resolve(options, 'connect');
    const socketOptions = platform.socketOptions(options);
    const redial = options.redial === undefined ? null : redialSchedule(options.redial);
    // As node:net: a socket that is connecting or connected cannot connect
    // again, but a closed one can (it is brought back to life first).
    if (this.#handle !== null || this.connecting) throw ERR_SOCKET_CLOSED();
    if (this.destroyed) this.#revive();
    if (listener !== undefined) this.once('connect', listener);
    if (options.timeout !== undefined) this.setTimeout(options.timeout);
    if (options.signal !== undefined) this.#watchSignal(options.signal);
    if (this.destroyed) return this;

    this.#platform = platform;
    this.connecting = true;
    this.#dial = new Dialer({ platform, address: target.address, sockaddr: target.sockaddr, socketOptions, redial }, this.#dialing(), this.#refed);
    this.#dial.start();
    return this;
  }

  /**
   * Not public API (hvsock/http): connecting now, to an address known later
   * (a VM name or WSL's ID being looked up). As during any connect, writes
   * wait and the socket reads as connecting; a failed lookup destroys it
   * with the lookup's error.
   */
  [kConnectLater](options: Promise<ConnectOptions>): this {
    if (this.#handle !== null || this.connecting) throw ERR_SOCKET_CLOSED();
    this.connecting = true;
    options.then(
      (resolved) => {
        if (this.destroyed) return;
        this.connecting = false;
        try {
          this.connect(resolved);
        } catch (error) {
          this.destroy(error as Error);
        }
      },
      (error: Error) => {
        this.connecting = false;
        this.destroy(error);
      },
    );
    return this;
  }

  /**
   * The local address as an object, as node:net's `socket.address()`:
   * `{ family, address, port, cid?, vmId?, serviceId? }` (`address` is the
   * machine in the short form), or `{}` before connecting.
   */
  address(): HvSocketAddress | Record<string, never> {
    return this.localHvAddress ?? {};
  }

  /**
   * The peer's address in every form that has a meaning on this OS. Read
   * from the OS on first use while connected (as node:net does), so sockets
   * nobody asks about cost no system calls.
   */
  get remoteHvAddress(): HvSocketAddress | undefined {
    if (this.#remote === undefined && !this.connecting) this.#remote = this.#sockaddr('getpeername');
    return this.#remote;
  }
  /** This end's address in every form that has a meaning on this OS. */
  get localHvAddress(): HvSocketAddress | undefined {
    if (this.#local === undefined && !this.connecting) this.#local = this.#sockaddr('getsockname');
    return this.#local;
  }

  /**
   * The peer machine as text, as node:net's `remoteAddress` is the peer's IP:
   * `loopback`, `parent`, `any`, `children` or `silohost` where the machine
   * has a name, else its CID (Linux) or VM GUID (Windows). With
   * `remotePort`, `${remoteAddress}:${remotePort}` is the short form.
   */
  get remoteAddress(): string | undefined {
    return this.remoteHvAddress?.address;
  }
  /** `'AF_VSOCK'` (Linux) or `'AF_HYPERV'` (Windows). */
  get remoteFamily(): HvSocketAddress['family'] | undefined {
    return this.remoteHvAddress?.family;
  }
  /** The peer's vsock port, or the port of its template service GUID; undefined for other service GUIDs. */
  get remotePort(): number | undefined {
    return this.remoteHvAddress?.port;
  }
  /** The peer's CID, where it has one (Linux, or a Windows VM ID that maps to one). */
  get remoteCid(): number | undefined {
    return this.remoteHvAddress?.cid;
  }
  /** The peer's VM ID, where it has one (Windows, or a Linux CID that maps to one). */
  get remoteVmId(): string | undefined {
    return this.remoteHvAddress?.vmId;
  }
  /** The peer's service GUID, where it has one. */
  get remoteServiceId(): string | undefined {
    return this.remoteHvAddress?.serviceId;
  }
  /** This machine as the connection sees it, in the short form's text (as `remoteAddress`). */
  get localAddress(): string | undefined {
    return this.localHvAddress?.address;
  }
  /** `'AF_VSOCK'` (Linux) or `'AF_HYPERV'` (Windows). */
  get localFamily(): HvSocketAddress['family'] | undefined {
    return this.localHvAddress?.family;
  }
  /** This end's port, where its service has one (as `remotePort`). */
  get localPort(): number | undefined {
    return this.localHvAddress?.port;
  }
  /** This end's CID, where it has one. */
  get localCid(): number | undefined {
    return this.localHvAddress?.cid;
  }
  /** This end's VM ID, where it has one. */
  get localVmId(): string | undefined {
    return this.localHvAddress?.vmId;
  }
  /** This end's service GUID, where it has one. */
  get localServiceId(): string | undefined {
    return this.localHvAddress?.serviceId;
  }

  /**
   * Bytes written so far, as node:net counts them: those handed to the OS
   * plus those still queued (while connecting, corked or under
   * backpressure). Undefined on Socket.prototype itself, as node:net's.
   */
  get bytesWritten(): number | undefined {
    if (!(#bytesWritten in this)) return undefined;
    let bytes = this.#bytesWritten;
    // The stream's queue (Writable's writableBuffer, which @types/node omits), as node:net's getter reads it.
    const queued = (this as unknown as { writableBuffer: Array<{ chunk: Buffer | string; encoding: BufferEncoding }> }).writableBuffer;
    for (const { chunk, encoding } of queued) {
      bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk, encoding) : chunk.length;
    }
    for (const chunk of this.#pendingWrite?.chunks ?? []) bytes += chunk.length;
    return bytes;
  }

  /** node:net's older name for writableLength; undefined until the socket has an OS socket, as node:net's. */
  get bufferSize(): number | undefined {
    if (!(#handle in this) || this.#handle === null) return undefined;
    return this.writableLength;
  }

  /**
   * The buffer size the OS socket holds, in bytes, as the OS reports it
   * (connect()'s and listen()'s `bufferSize` set it; the OS may clamp it):
   * Linux vsock's SO_VM_SOCKETS_BUFFER_SIZE, Windows' SO_RCVBUF. Undefined
   * until the socket is connected and after it is destroyed; throws the
   * getsockopt error if the OS will not say. (`bufferSize` is node:net's
   * old name for writableLength, so this is a method of its own.)
   */
  getBufferSize(): number | undefined {
    const handle = this.#handle;
    if (handle === null || this.#platform === null) return undefined;
    const size = readBufferSize(handle, this.#platform.bufferSizeOption);
    if (size < 0) throw systemError(size, 'getsockopt', { windowsError: handle.windowsError });
    return size;
  }

  /** node:net's deprecated name for `connecting`. */
  get _connecting(): boolean {
    return this.connecting;
  }

  /** True until the socket is connected (also before connect() is called). */
  get pending(): boolean {
    return this.#handle === null || this.connecting;
  }

  get readyState(): SocketReadyState {
    if (this.connecting) return 'opening';
    if (this.readable && this.writable) return 'open';
    if (this.readable && !this.writable) return 'readOnly';
    if (!this.readable && this.writable) return 'writeOnly';
    return 'closed';
  }

  /** Emits 'timeout' after `ms` without reads or writes; 0 disables. Does not close the socket. */
  setTimeout(ms: number, callback?: () => void): this {
    const timeout = validateIdleTimeout(ms);
    if (callback !== undefined) {
      validateCallback(callback);
      if (timeout === 0) this.removeListener('timeout', callback);
      else this.once('timeout', callback);
    }
    this.#idleMs = timeout;
    this.#clearIdleTimer();
    if (timeout > 0 && !this.destroyed) {
      this.#idleTimer = setTimeout(() => this.#onIdle(), timeout);
      this.#idleTimer.unref();
    }
    return this;
  }

  /** The event loop may exit while this socket is open. */
  unref(): this {
    this.#refed = false;
    this.#handle?.unref();
    this.#dial?.unref();
    return this;
  }

  ref(): this {
    this.#refed = true;
    this.#handle?.ref();
    this.#dial?.ref();
    return this;
  }

  /** No effect: vsock and Hyper-V sockets have no Nagle algorithm. Kept for node:net compatibility. */
  setNoDelay(_noDelay?: boolean): this {
    return this;
  }

  /** No effect: the hypervisor transport has no keep-alive probes. Kept for node:net compatibility. */
  setKeepAlive(_enable?: boolean, _initialDelay?: number): this {
    return this;
  }

  /** Ends the writable side and destroys the socket once everything is flushed. */
  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once('finish', () => this.destroy());
  }

  /**
   * As node:net's write(), with its error for a write after the peer ended
   * the connection and this side ended too (allowHalfOpen false ends it by
   * itself): EPIPE, "This socket has been ended by the other party", rather
   * than the stream's ERR_STREAM_WRITE_AFTER_END, which blames the caller.
   */
  override write(chunk: unknown, callback?: (error: Error | null | undefined) => void): boolean;
  override write(chunk: unknown, encoding: BufferEncoding, callback?: (error: Error | null | undefined) => void): boolean;
  override write(chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
    if (!this.allowHalfOpen && this.readableEnded && this.writableEnded) {
      const cb = typeof encoding === 'function' ? encoding : callback;
      const error = Object.assign(new Error('This socket has been ended by the other party'), { code: 'EPIPE' });
      if (typeof cb === 'function') process.nextTick(cb as (error: Error) => void, error);
      this.destroy(error);
      return false;
    }
    return super.write(chunk, encoding as BufferEncoding, callback as (error: Error | null | undefined) => void);
  }

  override _read(): void {
    if (this.connecting) {
      // As node:net: the stream counts this read as under way, so it must be
      // honoured once connected, whatever the flowing mode is then.
      this.once('connect', () => this._read());
      return;
    }
    if (this.#reading) return;
    this.#startReading();
  }

  #startReading(): void {
    if (this.#handle === null) return;
    const err = this.#handle.readStart();
    if (err < 0) {
      this.destroy(systemError(err, 'read', { windowsError: this.#handle.windowsError }));
      return;
    }
    this.#reading = true;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: Callback): void {
    this.#writeChunks([chunk], callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: Callback): void {
    this.#writeChunks(chunks.map((c) => c.chunk), callback);
  }

  override _final(callback: Callback): void {
    if (this.connecting) {
      this.once('connect', () => this._final(callback));
      return;
    }
    if (this.#handle === null) {
      callback();
      return;
    }
    // Linux vsock answers getpeername with ENOTCONN once this side has shut
    // down (vsock_shutdown leaves SS_CONNECTED): read the peer first, so that
    // remoteAddress stays readable after end(), as with node:net.
    this.#remote ??= this.#sockaddr('getpeername');
    const err = this.#handle.shutdown();
    // A peer that is already gone has nothing left to half-close.
    if (err < 0 && err !== uvErrno('ENOTCONN')) {
      callback(systemError(err, 'shutdown', { windowsError: this.#handle.windowsError }));
    } else {
      callback();
    }
  }

  override _destroy(error: Error | null, callback: Callback): void {
    this.#clearIdleTimer();
    this.connecting = false;
    this.#stopWatchingSignal?.();
    this.#stopWatchingSignal = null;
    this.#dial?.cancel();
    this.#dial = null;
    this.#closeHandle();
    const pendingWrite = this.#writeCallback;
    this.#writeCallback = null;
    // A write made while connecting waits in #pendingWrite; the stream holds
    // the writes after it (and end()'s callback) until it is called back.
    const unsent = this.#pendingWrite;
    this.#pendingWrite = null;
    callback(error);
    // A write the OS never finished must not leave its callback hanging.
    if (pendingWrite !== null) pendingWrite(error ?? ERR_SOCKET_CLOSED());
    const onClose = this.#onClose;
    this.#onClose = null;
    process.nextTick(() => {
      // As node:net, on 'close': the stream then calls the queued writes' and
      // end()'s callbacks with the socket's error, else with this one.
      unsent?.callback(ERR_SOCKET_CLOSED_BEFORE_CONNECTION());
      this.emit('close', error !== null);
      onClose?.(this);
    });
  }

  /**
   * A closed socket made ready to connect again, as node:net's connect()
   * does (its initSocketHandle): the stream's state is reset (Node's
   * internal _undestroy(), which node:net calls), and so is what belonged to
   * the old connection.
   */
  #revive(): void {
    (this as unknown as { _undestroy(): void })._undestroy();
    this.bytesRead = 0;
    this.#bytesWritten = 0;
    this.#local = this.#remote = undefined;
  }

  #attach(handle: NativeHandle): void {
    this.#handle = handle;
    if (!this.#refed) handle.unref();
    (handle as OwnedHandle)[kSocket] = this;
    handle.onread = onHandleRead;
    handle.onwrite = onHandleWrite;
  }

  /** Closes the OS socket; its late callbacks, if any, go nowhere. */
  #closeHandle(): void {
    const handle = this.#handle;
    this.#handle = null;
    this.#reading = false;
    if (handle !== null) {
      handle.onread = handle.onwrite = handle.onconnect = undefined;
      (handle as OwnedHandle)[kSocket] = undefined;
      handle.close();
    }
  }

  /** The Socket as its dialer sees it. */
  #dialing(): DialingSocket {
    const socket = this;
    return {
      get destroyed() {
        return socket.destroyed;
      },
      get handle() {
        return socket.#handle;
      },
      attach: (handle) => this.#attach(handle),
      closeHandle: () => this.#closeHandle(),
      connected: () => this.#connected(),
      fail: (error) => this.destroy(error),
      redial: (event) => this.emit('redial', event),
    };
  }

  #sockaddr(which: 'getsockname' | 'getpeername', handle = this.#handle): HvSocketAddress | undefined {
    if (handle === null) return undefined;
    const raw = handle[which]();
    if (typeof raw === 'number' || this.#platform === null) return undefined;
    return this.#platform.decode(raw);
  }

  /** The dial succeeded: the socket is open. */
  #connected(): void {
    this.#dial = null;
    this.connecting = false;
    this.#touch();
    const pending = this.#pendingWrite;
    this.#pendingWrite = null;
    if (pending !== null) this.#writeChunks(pending.chunks, pending.callback);
    this.emit('connect');
    this.emit('ready');
    // Starts the first read (or sees an immediate EOF) without consuming data.
    if (!this.isPaused()) this.read(0);
  }

  #writeChunks(chunks: Buffer[], callback: Callback): void {
    if (this.connecting) {
      this.#pendingWrite = { chunks, callback };
      return;
    }
    const handle = this.#handle;
    if (handle === null) {
      callback(ERR_SOCKET_CLOSED());
      return;
    }
    this.#touch();
    const result = handle.writev(chunks.length === 1 ? (chunks[0] as Buffer) : chunks);
    if (result < 0) {
      callback(systemError(this.#writeErrno(result), 'write', { windowsError: handle.windowsError }));
      return;
    }
    for (const chunk of chunks) this.#bytesWritten += chunk.length;
    if (result === WRITE_PENDING) this.#writeCallback = callback;
    else callback();
  }

  #onWrite(status: number): void {
    const callback = this.#writeCallback;
    this.#writeCallback = null;
    if (callback === null) return;
    this.#touch();
    callback(status < 0 ? systemError(this.#writeErrno(status), 'write', { windowsError: this.#handle?.windowsError }) : null);
  }

  #writeErrno(errno: number): number {
    return this.#platform?.writeError?.(errno) ?? errno;
  }

  #onRead(nread: number, arrayBuffer?: ArrayBuffer): void {
    const handle = this.#handle;
    if (handle === null) return;
    if (nread > 0 && arrayBuffer !== undefined) {
      this.bytesRead += nread;
      this.#touch();
      const chunk = Buffer.from(arrayBuffer, 0, nread);
      if (this.#userRead !== null) {
        this.#readIntoUserBuffer(chunk);
        return;
      }
      // The ArrayBuffer is this chunk's alone (native/read_memory.h): no copy here.
      if (!this.push(chunk) && this.#handle !== null) {
        this.#reading = false;
        this.#handle.readStop();
      }
      return;
    }
    this.#reading = false;
    if (nread === loadBinding().UV_EOF) {
      this.push(null);
      this.read(0);
      return;
    }
    this.destroy(systemError(nread, 'read', { windowsError: handle.windowsError }));
  }

  /**
   * The onread option: `chunk` copied into the caller's buffer, a buffer-full
   * at a time, with a callback per buffer-full; a callback that returns false
   * stops reading, and what is left of the chunk waits for resume().
   */
  #readIntoUserBuffer(chunk: Buffer): void {
    const user = this.#userRead;
    if (user === null) return;
    let offset = 0;
    while (offset < chunk.length && !this.destroyed) {
      user.buffer ??= user.next?.() ?? null;
      if (!(user.buffer instanceof Uint8Array) || user.buffer.length === 0) {
        this.destroy(ERR_INVALID_ARG_VALUE('options.onread.buffer', user.buffer, 'must return a non-empty Uint8Array'));
        return;
      }
      const target = user.buffer;
      const copied = chunk.copy(target, 0, offset);
      offset += copied;
      const more = user.callback(copied, target) !== false;
      // As node:net, a buffer function is asked for the next buffer after each callback.
      if (user.next !== null) user.buffer = null;
      if (!more) {
        // Kept as a copy: the chunk's memory belongs to the read path.
        user.left = offset < chunk.length ? Buffer.from(chunk.subarray(offset)) : null;
        this.#reading = false;
        this.#handle?.readStop();
        return;
      }
    }
  }

  /** With onread, pause() and resume() stop and start the reads themselves, as node:net's. */
  override pause(): this {
    if (this.#userRead !== null && this.#reading && this.#handle !== null) {
      this.#reading = false;
      this.#handle.readStop();
    }
    return super.pause();
  }

  override resume(): this {
    const user = this.#userRead;
    if (user !== null && !this.connecting && this.#handle !== null && !this.#reading) {
      const left = user.left;
      user.left = null;
      if (left !== null) this.#readIntoUserBuffer(left);
      // Unless the callback paused again on what was left.
      if (user.left === null && this.#handle !== null && !this.#reading) this.#startReading();
    }
    return super.resume();
  }

  #touch(): void {
    this.#idleTimer?.refresh();
  }

  #onIdle(): void {
    // The timer stays: the next read or write re-arms it through refresh().
    if (this.destroyed || this.#idleMs === 0) return;
    this.emit('timeout');
  }

  #clearIdleTimer(): void {
    if (this.#idleTimer !== null) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
  }

  #watchSignal(signal: AbortSignal): void {
    if (signal.aborted) {
      const error = AbortError(signal.reason);
      process.nextTick(() => this.destroy(error));
      return;
    }
    this.#stopWatchingSignal?.();
    this.#stopWatchingSignal = onAbort(signal, () => this.destroy(AbortError(signal.reason)));
  }
}
