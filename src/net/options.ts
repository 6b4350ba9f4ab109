// Argument shapes of connect(), listen() and the constructors, checked
// synchronously so that nothing malformed ever reaches the native layer.
import type { AddressInput } from '../address/address.js';
import { parseAddress } from '../address/text.js';
import { ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE, ERR_MISSING_ARGS } from '../errors/errors.js';
import type { NativeHandle } from '../transport/native.js';
import { kTransport, type HyperVSocketOptions, type SocketPlatform } from '../transport/platform.js';

export { kTransport, type HyperVSocketOptions };
import { redialSchedule, type RedialOptions } from './redial.js';
import {
  validateAbortSignal,
  validateBoolean,
  validateFunction,
  validateInteger,
  validateNumber,
  validateObject,
} from '../errors/validate.js';

/** Largest timer delay Node accepts (setTimeout's TIMEOUT_MAX). */
const TIMEOUT_MAX = 2 ** 31 - 1;

/** Smallest and largest `bufferSize` connect() and listen() take, in bytes. */
export const BUFFER_SIZE_MIN = 4096;
export const BUFFER_SIZE_MAX = 2 ** 31 - 1;

/** connect()'s and listen()'s `bufferSize`. */
export interface BufferSizeOptions {
  /**
   * The socket's buffer size in bytes (4096 to 2**31 - 1), set before connect
   * or listen; on a server, on every socket it accepts too. Linux vsock:
   * SO_VM_SOCKETS_BUFFER_SIZE (raising SO_VM_SOCKETS_BUFFER_MAX_SIZE when it
   * is above 256 KiB), plus SO_SNDBUF/SO_RCVBUF as hints; Windows:
   * SO_SNDBUF/SO_RCVBUF, as hints a provider may refuse. The OS may clamp
   * it: `socket.getBufferSize()` reads back what the socket holds.
   */
  bufferSize?: number;
}

/** connect()'s options: the address to reach (a machine part and a service part) and how to connect. */
export interface ConnectOptions extends AddressInput, HyperVSocketOptions, BufferSizeOptions {
  /**
   * Give up connecting after this many milliseconds (ETIMEDOUT). Applied as
   * the OS option (SO_VM_SOCKETS_CONNECT_TIMEOUT / HVSOCKET_CONNECT_TIMEOUT),
   * so it also shortens or lengthens the kernel's default (2 s on Linux).
   */
  connectTimeout?: number;
  /** Idle timeout, as node:net: emits 'timeout' after this many ms without I/O. */
  timeout?: number;
  /** Aborting destroys the socket with an AbortError. */
  signal?: AbortSignal;
  /** Used by connect()/createConnection() for the new socket. */
  allowHalfOpen?: boolean;
  /** Used by connect()/createConnection() for the new socket: reads go into the caller's buffer (SocketOptions.onread). */
  onread?: OnReadOptions;
  /**
   * Retry a refused, unreachable or timed-out connect (the peer not listening
   * yet) with backoff, each time on a fresh OS socket, for up to `timeout` ms.
   * A number is `{ timeout }`. The socket emits 'connect' once, or one 'error'
   * (the last attempt's, with an `attempts` count); 'redial' before each wait.
   */
  redial?: number | RedialOptions;
}

/**
 * node:net's `onread`: incoming data goes into `buffer` (or the buffer the
 * function returns, asked again after each callback) and `callback(nread,
 * buffer)` is called instead of 'data'; returning false stops reading until
 * `resume()`. hvsock copies each chunk it read into the buffer (node:net
 * reads into it directly): the native read path owns where reads land.
 */
export interface OnReadOptions {
  buffer: Uint8Array | (() => Uint8Array);
  callback: (bytesRead: number, buffer: Uint8Array) => boolean | void;
}

/** `new Socket()`'s options. */
export interface SocketOptions {
  /** Keep the writable side open after the peer ends (default false, as node:net). */
  allowHalfOpen?: boolean;
  /** Aborting destroys the socket with an AbortError. */
  signal?: AbortSignal;
  /** Reads go into the caller's buffer and callback instead of 'data', as node:net's onread. */
  onread?: OnReadOptions;
}

/** Socket's connect to an address still being looked up (hvsock/http); not public API. */
export const kConnectLater = Symbol('hvsock.connectLater');

/** How a Server hands an accepted OS socket to a new Socket; not public API. */
export const kAccepted = Symbol('hvsock.accepted');
export interface AcceptedSocket {
  handle: NativeHandle;
  /** The listener's transport, which reads this socket's addresses. */
  platform: SocketPlatform;
  pauseOnCreate: boolean;
  onClose: (socket: unknown) => void;
}
export interface InternalSocketOptions extends SocketOptions {
  [kAccepted]?: AcceptedSocket;
  [kTransport]?: SocketPlatform;
}

export interface InternalServerOptions extends ServerOptions {
  [kTransport]?: SocketPlatform;
}

/** createServer()'s options. */
export interface ServerOptions {
  /** Accepted sockets keep their writable side open after the peer ends (default false, as node:net). */
  allowHalfOpen?: boolean;
  /** Accepted sockets start paused (no 'data' until resume()), as node:net. */
  pauseOnConnect?: boolean;
  /**
   * EventEmitter's option: a rejected async listener is caught; one for
   * 'connection' destroys that socket with the error. Defaults to
   * `events.captureRejections`, as for node:net's Server.
   */
  captureRejections?: boolean;
}

/** listen()'s options: the address to bind (a machine part and a service part) and how to listen. */
export interface ListenOptions extends AddressInput, HyperVSocketOptions, BufferSizeOptions {
  /** The most connections the OS queues before accept() (default 511, as node:net). */
  backlog?: number;
  /** Adopt an already-listening socket (e.g. systemd socket activation's fd 3). */
  fd?: number;
  /** Aborting closes the server. */
  signal?: AbortSignal;
}

export function validateCallback(callback: unknown, name = 'callback'): asserts callback is (...args: never[]) => unknown {
  validateFunction(callback, name);
}

export function validateIdleTimeout(ms: unknown, name = 'msecs'): number {
  validateNumber(ms, name, 0, TIMEOUT_MAX);
  return ms as number;
}

export function validateSocketOptions(options: unknown): SocketOptions {
  if (options === undefined) return {};
  validateObject(options, 'options');
  const o = options as SocketOptions & { objectMode?: unknown; readableObjectMode?: unknown; writableObjectMode?: unknown };
  // A socket carries bytes: node:net refuses the object modes, with these words.
  for (const name of ['objectMode', 'readableObjectMode', 'writableObjectMode'] as const) {
    if (o[name]) throw ERR_INVALID_ARG_VALUE(`options.${name}`, o[name], 'is not supported');
  }
  if (o.allowHalfOpen !== undefined) validateBoolean(o.allowHalfOpen, 'options.allowHalfOpen');
  if (o.signal !== undefined) validateAbortSignal(o.signal, 'options.signal');
  if (o.onread !== undefined) validateOnRead(o.onread);
  return o;
}

/** node:net ignores a malformed onread; hvsock says so, as for every other option. */
function validateOnRead(onread: unknown): void {
  validateObject(onread, 'options.onread');
  const { buffer, callback } = onread as Partial<OnReadOptions>;
  if (!(buffer instanceof Uint8Array) && typeof buffer !== 'function') {
    throw ERR_INVALID_ARG_TYPE('options.onread.buffer', ['Uint8Array', 'Function'], buffer);
  }
  if (buffer instanceof Uint8Array && buffer.length === 0) {
    throw ERR_INVALID_ARG_VALUE('options.onread.buffer', buffer, 'must not be empty');
  }
  validateFunction(callback, 'options.onread.callback');
}

/** node:net's calling convention: an optional callback always comes last. */
function splitCallback(args: unknown[]): [unknown[], (() => void) | undefined] {
  const last = args[args.length - 1];
  return typeof last === 'function' ? [args.slice(0, -1), last as () => void] : [args, undefined];
}

/**
 * `port[, machine]` as node:net's `port[, host]`: the machine a CID (number)
 * or the short form's machine text ('parent', '3', a VM GUID).
 */
function portAndMachine(port: number, machine: unknown): AddressInput {
  if (machine === undefined) return { port };
  if (typeof machine === 'number') return { port, cid: machine };
  if (typeof machine === 'string') return { port, host: machine };
  throw ERR_INVALID_ARG_TYPE('host', ['string', 'number'], machine);
}

/**
 * connect(options[, cb]) | connect('machine:service'[, cb]) |
 * connect(port[, host | cid][, cb]) → [options, cb].
 */
export function normalizeConnectArgs(args: unknown[], maxConnectTimeout: number): [ConnectOptions, (() => void) | undefined] {
  const [[first, second], listener] = splitCallback(args);
  // node:net's words for connect() with nothing to connect to.
  if (first === undefined) throw ERR_MISSING_ARGS(['options', 'port', 'address']);
  let options: ConnectOptions;
  if (typeof first === 'number') {
    options = portAndMachine(first, second);
  } else if (typeof first === 'string') {
    // Not a path, as for node:net: the short form "[machine:]service".
    options = parseAddress(first, 'address');
  } else if (first !== null && typeof first === 'object') {
    options = first as ConnectOptions;
  } else {
    throw ERR_INVALID_ARG_TYPE('options', ['Object', 'number', 'string'], first);
  }
  if (options.connectTimeout !== undefined) {
    validateInteger(options.connectTimeout, 'options.connectTimeout', 1, maxConnectTimeout);
  }
  if (options.timeout !== undefined) validateIdleTimeout(options.timeout, 'options.timeout');
  if (options.signal !== undefined) validateAbortSignal(options.signal, 'options.signal');
  if (options.allowHalfOpen !== undefined) validateBoolean(options.allowHalfOpen, 'options.allowHalfOpen');
  if (options.redial !== undefined) redialSchedule(options.redial);
  validateBufferSize(options);
  validateHyperVOptions(options);
  return [options, listener];
}

/** `bufferSize`: an integer from BUFFER_SIZE_MIN to BUFFER_SIZE_MAX, or absent. */
export function validateBufferSize(options: BufferSizeOptions): void {
  if (options.bufferSize !== undefined) validateInteger(options.bufferSize, 'options.bufferSize', BUFFER_SIZE_MIN, BUFFER_SIZE_MAX);
}

function validateHyperVOptions(options: HyperVSocketOptions): void {
  for (const name of ['connectedSuspend', 'containerPassthru', 'highVtl'] as const) {
    if (options[name] !== undefined) validateBoolean(options[name], `options.${name}`);
  }
}

export function validateServerOptions(options: unknown): ServerOptions {
  if (options === undefined) return {};
  validateObject(options, 'options');
  const o = options as ServerOptions;
  if (o.allowHalfOpen !== undefined) validateBoolean(o.allowHalfOpen, 'options.allowHalfOpen');
  if (o.pauseOnConnect !== undefined) validateBoolean(o.pauseOnConnect, 'options.pauseOnConnect');
  if (o.captureRejections !== undefined) validateBoolean(o.captureRejections, 'options.captureRejections');
  return o;
}

/**
 * listen(options[, cb]) | listen('machine:service'[, backlog][, cb]) |
 * listen(port[, host][, backlog][, cb]) | listen([cb]) → [options, cb].
 */
export function normalizeListenArgs(args: unknown[]): [ListenOptions, (() => void) | undefined] {
  const [[first, ...rest], callback] = splitCallback(args);
  let options: ListenOptions;
  if (first === undefined) {
    options = { port: 0 };
  } else if (typeof first === 'number') {
    // As node:net: listen(port, host, backlog) or listen(port, backlog).
    const host = typeof rest[0] === 'string' ? (rest.shift() as string) : undefined;
    options = { port: first, ...(host === undefined ? {} : { host }) };
    if (rest[0] !== undefined) options.backlog = rest[0] as number;
  } else if (typeof first === 'string') {
    options = parseAddress(first, 'address');
    if (rest[0] !== undefined) options.backlog = rest[0] as number;
  } else if (first !== null && typeof first === 'object') {
    options = first as ListenOptions;
  } else {
    throw ERR_INVALID_ARG_TYPE('options', ['Object', 'number', 'string'], first);
  }
  if (options.backlog !== undefined) validateInteger(options.backlog, 'options.backlog', 0, 2 ** 31 - 1);
  if (options.fd !== undefined) validateInteger(options.fd, 'options.fd', 0, 2 ** 31 - 1);
  if (options.signal !== undefined) validateAbortSignal(options.signal, 'options.signal');
  validateBufferSize(options);
  validateHyperVOptions(options);
  return [options, callback];
}
