// Errors shaped like Node's own: the same classes, `code`s and message
// wording as node:net, so callers can handle hvsock errors the way they
// already handle net errors.
import { getSystemErrorMap, getSystemErrorName, inspect } from 'node:util';
import { formatWindowsError, windowsErrorEntry } from './windows.js';

type ErrorClass = typeof Error | typeof TypeError | typeof RangeError;

function nodeError<E extends Error>(Base: ErrorClass, code: string, message: string): E & { code: string } {
  const error = new Base(message) as E & { code: string };
  error.code = code;
  // Node's errors read "TypeError [ERR_X]: ..." in stacks and toString().
  const header = `${error.name} [${code}]`;
  if (error.stack !== undefined) error.stack = error.stack.replace(error.name, header);
  Object.defineProperty(error, 'toString', {
    value: () => `${header}: ${error.message}`,
    enumerable: false,
    configurable: true,
    writable: true,
  });
  return error;
}

/** How Node describes a wrong value in ERR_INVALID_ARG_TYPE messages. */
function describeReceived(value: unknown): string {
  if (value === null || value === undefined) return `${String(value)}`;
  if (typeof value === 'function') return value.name ? `function ${value.name}` : 'function';
  if (typeof value === 'object') {
    const name = (value as { constructor?: { name?: string } }).constructor?.name;
    return name ? `an instance of ${name}` : inspect(value, { depth: -1 });
  }
  let shown = inspect(value, { colors: false });
  if (shown.length > 28) shown = `${shown.slice(0, 25)}...`;
  return `type ${typeof value} (${shown})`;
}

function subject(name: string): string {
  if (name.endsWith(' argument')) return `The ${name}`;
  return `The "${name}" ${name.includes('.') ? 'property' : 'argument'}`;
}

function listTypes(expected: string[]): string {
  const primitives = expected.filter((t) => t === t.toLowerCase());
  const classes = expected.filter((t) => t !== t.toLowerCase());
  const parts: string[] = [];
  if (primitives.length === 1) parts.push(`of type ${primitives[0]}`);
  else if (primitives.length === 2) parts.push(`one of type ${primitives[0]} or ${primitives[1]}`);
  else if (primitives.length > 2) {
    parts.push(`one of type ${primitives.slice(0, -1).join(', ')}, or ${primitives[primitives.length - 1]}`);
  }
  if (classes.length > 0) parts.push(`an instance of ${classes.join(' or ')}`);
  return parts.join(' or ');
}

export function ERR_INVALID_ARG_TYPE(name: string, expected: string | string[], actual: unknown): TypeError & { code: string } {
  const types = (Array.isArray(expected) ? expected : [expected]).map((t) =>
    // Node names these two as primitives: "of type object", "of type function".
    t === 'Object' || t === 'Function' ? t.toLowerCase() : t,
  );
  const message = `${subject(name)} must be ${listTypes(types)}. Received ${describeReceived(actual)}`;
  return nodeError<TypeError>(TypeError, 'ERR_INVALID_ARG_TYPE', message);
}

export function ERR_INVALID_ARG_VALUE(name: string, value: unknown, reason = 'is invalid'): TypeError & { code: string } {
  let shown = inspect(value);
  if (shown.length > 128) shown = `${shown.slice(0, 128)}...`;
  const kind = name.includes('.') ? 'property' : 'argument';
  return nodeError<TypeError>(TypeError, 'ERR_INVALID_ARG_VALUE', `The ${kind} '${name}' ${reason}. Received ${shown}`);
}

/** 5000000000 → "5_000_000_000", as Node prints large integers. */
function withSeparators(digits: string): string {
  const sign = digits.startsWith('-') ? '-' : '';
  const body = sign ? digits.slice(1) : digits;
  return sign + body.replace(/\B(?=(\d{3})+(?!\d))/g, '_');
}

export function ERR_OUT_OF_RANGE(name: string, range: string, received: unknown): RangeError & { code: string } {
  const shown =
    Number.isInteger(received) && Math.abs(received as number) > 2 ** 32
      ? withSeparators(String(received))
      : inspect(received);
  return nodeError<RangeError>(
    RangeError,
    'ERR_OUT_OF_RANGE',
    `The value of "${name}" is out of range. It must be ${range}. Received ${shown}`,
  );
}

/** Each name is an argument, or a list of alternatives (`['options', 'port']` reads `"options" or "port"`), as Node's. */
export function ERR_MISSING_ARGS(...names: Array<string | string[]>): TypeError & { code: string } {
  const quoted = names.map((n) => (Array.isArray(n) ? n : [n]).map((a) => `"${a}"`).join(' or '));
  const list = quoted.length <= 2 ? quoted.join(' and ') : `${quoted.slice(0, -1).join(', ')}, and ${quoted[quoted.length - 1]}`;
  return nodeError<TypeError>(TypeError, 'ERR_MISSING_ARGS', `The ${list} argument${names.length > 1 ? 's' : ''} must be specified`);
}

export function ERR_SERVER_ALREADY_LISTEN(): Error & { code: string } {
  return nodeError(Error, 'ERR_SERVER_ALREADY_LISTEN', 'Listen method has been called more than once without closing.');
}

export function ERR_SERVER_NOT_RUNNING(): Error & { code: string } {
  return nodeError(Error, 'ERR_SERVER_NOT_RUNNING', 'Server is not running.');
}

export function ERR_SOCKET_CLOSED(): Error & { code: string } {
  return nodeError(Error, 'ERR_SOCKET_CLOSED', 'Socket is closed');
}

export function ERR_SOCKET_CLOSED_BEFORE_CONNECTION(): Error & { code: string } {
  return nodeError(Error, 'ERR_SOCKET_CLOSED_BEFORE_CONNECTION', 'Socket closed before the connection was established');
}

/** Node's AbortError: name 'AbortError', code 'ABORT_ERR', the signal's reason as cause. */
export function AbortError(cause?: unknown): Error & { code: string } {
  const error = new Error('The operation was aborted', cause === undefined ? undefined : { cause }) as Error & {
    code: string;
  };
  error.name = 'AbortError';
  error.code = 'ABORT_ERR';
  return error;
}

/**
 * The address fields an error carries: node:net's `address` (the machine,
 * as text) and `port`, and hvsock's `cid`, `vmId` and `serviceId`. The
 * address layer fills them in (errorAddress()); this layer knows no addresses.
 */
export interface ErrorAddressFields {
  address?: string;
  cid?: number;
  port?: number;
  vmId?: string;
  serviceId?: string;
}

/** A system error from hvsock: node:net's fields, the address, and on Windows the OS's own number. */
export interface HvSocketError extends NodeJS.ErrnoException, ErrorAddressFields {
  /**
   * Windows only: the error number Windows reported (a Winsock WSAE* or Win32
   * ERROR_* value, or an HRESULT), on every error that came from Windows.
   * `code` is what it means to a Node user (src/errors/windows.ts).
   */
  windowsError?: number;
}

/** What a system error says beyond its errno and syscall. */
export interface SystemErrorDetails {
  /** Copied onto the error. */
  address?: ErrorAddressFields;
  /** The address as the message shows it, last: `connect ECONNREFUSED parent:5000`. */
  addressText?: string;
  /** Words after the code: `connect EACCES: <hint>`. */
  hint?: string;
  /**
   * Says what the code means after it, as node:net's listen errors do
   * (`listen EADDRINUSE: address already in use any:5000`); connect errors
   * do not (`connect ECONNREFUSED parent:5000`).
   */
  describeCode?: boolean;
  /** The native handle's `windowsError` (0 for none): names the code where libuv could not, and is kept. */
  windowsError?: number;
}

let errnoByCode: Map<string, number> | undefined;
function errnoOf(code: string): number | undefined {
  errnoByCode ??= new Map([...getSystemErrorMap()].map(([errno, [name]]) => [name, errno]));
  return errnoByCode.get(code);
}

/** libuv's error number for a code name on the running OS (libuv numbers differ between OSes). */
export function uvErrno(code: string): number {
  const errno = errnoOf(code);
  if (errno === undefined) throw new Error(`libuv has no error named ${code}`);
  return errno;
}

const ADDRESS_FIELDS = ['address', 'cid', 'port', 'vmId', 'serviceId'] as const;

/**
 * A failed system call, as node:net reports it: `connect ECONNREFUSED 1:5000`
 * with code, errno (negative, libuv numbering), syscall and the address fields.
 */
export function systemError(errno: number, syscall: string, details: SystemErrorDetails = {}): HvSocketError {
  const { address, addressText, hint, describeCode = false, windowsError = 0 } = details;
  const known = windowsError !== 0 ? windowsErrorEntry(windowsError) : undefined;
  const knownErrno = known === undefined ? undefined : errnoOf(known.code);
  if (knownErrno !== undefined) errno = knownErrno;
  let code: string;
  try {
    code = getSystemErrorName(errno);
  } catch {
    code = `Unknown system error ${errno}`;
  }
  let message = `${syscall} ${code}`;
  const meaning = describeCode ? getSystemErrorMap().get(errno)?.[1] : undefined;
  if (meaning !== undefined) message += `: ${meaning}`;
  if (hint !== undefined) message += `: ${hint}`;
  // A code that says nothing still names what Windows said.
  if (windowsError !== 0 && known === undefined) message += ` (${formatWindowsError(windowsError)})`;
  if (addressText !== undefined && addressText !== '') message += ` ${addressText}`;
  const error = new Error(message) as HvSocketError;
  error.code = code;
  error.errno = errno;
  error.syscall = syscall;
  if (windowsError !== 0) error.windowsError = windowsError >>> 0;
  if (address !== undefined) {
    for (const key of ADDRESS_FIELDS) {
      if (address[key] !== undefined) (error as unknown as Record<string, unknown>)[key] = address[key];
    }
  }
  return error;
}
