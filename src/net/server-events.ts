// Server's events and what their listeners receive, as one map: Server
// (server.ts) declares on/once/emit/... over it (typed-events.ts), so a misspelt
// event name or a listener of the wrong shape does not compile (symbols fall
// back to untyped listeners, as in node:events).
import type { HvSocketAddress } from '../address/address.js';
import type { HvSocketError } from '../errors/errors.js';
import type { WslVmNotFoundError } from '../host/wsl/vm-id.js';
import type { Socket } from './socket.js';
import type { WslRestartEvent } from './wsl-listener.js';

// The socket API's entry exports the 'wsldown' error type from here: it may not reach into host/.
export type { WslVmNotFoundError } from '../host/wsl/vm-id.js';

/**
 * The 'drop' event's argument (a connection closed at once because
 * maxConnections was reached): node:net's fields, the addresses as text as on
 * Socket, and the typed addresses.
 */
export interface DropEvent {
  /** The server's machine, as text (as Socket.localAddress). */
  localAddress: string | undefined;
  /** The server's port, where its service has one. */
  localPort: number | undefined;
  /** `'AF_VSOCK'` or `'AF_HYPERV'`. */
  localFamily: HvSocketAddress['family'] | undefined;
  /** The peer's machine, as text, when the OS could still tell it. */
  remoteAddress: string | undefined;
  /** The peer's port, where its service has one. */
  remotePort: number | undefined;
  /** `'AF_VSOCK'` or `'AF_HYPERV'`. */
  remoteFamily: HvSocketAddress['family'] | undefined;
  /** The server's typed address. */
  localHvAddress: HvSocketAddress | undefined;
  /** The peer's typed address, when the OS could still tell it. */
  remoteHvAddress: HvSocketAddress | undefined;
}

/** Server's events (node:net's Server events plus the WSL ones), each with the arguments its listeners get. */
export interface ServerEvents {
  /** The server is closed and its last connection has ended. */
  close: [];
  /** A connection was accepted. */
  connection: [socket: Socket];
  /** listen() or accepting failed: a system error with node:net's fields and the address. */
  error: [error: HvSocketError];
  /** The server is bound and listening. */
  listening: [];
  /** A connection was accepted and closed at once because maxConnections was reached. */
  drop: [data: DropEvent];
  /** listen({ wsl: true }): WSL 2's VM is gone or not found; the server waits for it to come back. */
  wsldown: [error: WslVmNotFoundError];
  /** listen({ wsl: true }): WSL 2 restarted and the server now listens on its new VM. */
  wslrestart: [event: WslRestartEvent];
  /** node:events: a listener is about to be added. */
  newListener: [eventName: string | symbol, listener: (...args: any[]) => void]; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** node:events: a listener was removed. */
  removeListener: [eventName: string | symbol, listener: (...args: any[]) => void]; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** The listener for Server event `E`. */
export type ServerListener<E extends keyof ServerEvents> = (...args: ServerEvents[E]) => void;
