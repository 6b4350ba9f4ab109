// Socket's events and what their listeners receive, as one map: Socket
// (socket.ts) declares on/once/emit/... over it (typed-events.ts), so a misspelt
// event name or a listener of the wrong shape does not compile. node:net's
// typings keep a `(event: string | symbol, listener: (...args: any[]) => void)`
// fallback that lets both through; ours falls back for symbols only.
import type { Readable } from 'node:stream';
import type { HvSocketError } from '../errors/errors.js';
import type { RedialEvent } from './redial.js';

/** Socket's events (node:net's Socket events plus 'redial'), each with the arguments its listeners get. */
export interface SocketEvents {
  /** The socket is fully closed; `hadError` is true when it closed because of an error. */
  close: [hadError: boolean];
  /** The connection is established. */
  connect: [];
  /**
   * Bytes arrived. A Buffer, as with node:net, unless setEncoding() was called:
   * then a string. @types/node 24 and older type node:net's the same way; 25 and later say `string | Buffer`.
   */
  data: [data: Buffer];
  /** The write buffer is empty again: write() may go on. */
  drain: [];
  /** The peer ended its side of the connection (half-close). */
  end: [];
  /** A failure: a system error with node:net's fields and the address (HvSocketError), or a Node error (code ERR_*). 'close' follows. */
  error: [error: HvSocketError];
  /** Everything written was handed to the OS after end(). */
  finish: [];
  /** The connection is ready to use: right after 'connect'. */
  ready: [];
  /** No traffic for the time set with setTimeout(); the socket stays open. */
  timeout: [];
  /** A connect attempt failed and, with the `redial` option, the next one is scheduled. */
  redial: [event: RedialEvent];
  /** Reading was paused (pause()). */
  pause: [];
  /** Reading resumed (resume()). */
  resume: [];
  /** Data can be read with read(). */
  readable: [];
  /** A readable stream was piped into this socket. */
  pipe: [source: Readable];
  /** A readable stream was unpiped from this socket. */
  unpipe: [source: Readable];
  /** node:events: a listener is about to be added. */
  newListener: [eventName: string | symbol, listener: (...args: any[]) => void]; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** node:events: a listener was removed. */
  removeListener: [eventName: string | symbol, listener: (...args: any[]) => void]; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** The listener for Socket event `E`. */
export type SocketListener<E extends keyof SocketEvents> = (...args: SocketEvents[E]) => void;
