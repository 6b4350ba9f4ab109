// Joins a client and its target into one forwarded connection, as a pipe
// that loses nothing:
//  - bytes both ways with backpressure (stream.pipe pauses the reader whose
//    writer is full, so a stalled reader costs at most each side's
//    highWaterMark, never a growing buffer);
//  - half-close passed through: a side's end becomes the other's end (both
//    sockets are allowHalfOpen), and the connection is over once both
//    directions have ended (linuxkit vsudd does the same with CloseWrite);
//  - a reset or error on one side resets the other (TCP gets an RST through
//    resetAndDestroy; vsock, Hyper-V sockets, unix sockets and named pipes
//    have no reset, so a close);
//  - an idle timeout over both directions.
import type { EndSocket } from './dial.js';

/** How a forwarded connection ended. */
export type RelayOutcome =
  /** Both directions ended cleanly. */
  | 'closed'
  /** A side failed or was reset; `error` and `side` say which and why. */
  | 'reset'
  /** Nothing moved for idleTimeout ms. */
  | 'idle'
  /** Cut by the forward's close() (its drain timeout ran out, or it was closed at once). */
  | 'cut';

export interface RelayResult {
  outcome: RelayOutcome;
  /** Bytes from the client to the target. */
  bytesIn: number;
  /** Bytes from the target to the client. */
  bytesOut: number;
  error?: Error;
  /** Which side failed: 'client' or 'target'. */
  side?: 'client' | 'target';
}

export interface Relay {
  readonly done: Promise<RelayResult>;
  /** Bytes so far: client → target, target → client. */
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** Ends it now, resetting both sides; `outcome` is what the result says. */
  cut(outcome: 'cut' | 'idle'): void;
}

/** Ends a socket so its peer knows it failed: an RST for TCP, a close where there is no reset. */
export function reset(socket: EndSocket): void {
  if (socket.destroyed) return;
  if (typeof socket.resetAndDestroy === 'function' && (socket as { connecting?: boolean }).connecting !== true) {
    try {
      socket.resetAndDestroy();
      return;
    } catch {
      // node:net throws ERR_INVALID_HANDLE_TYPE for a unix socket or a named
      // pipe, which have no reset: a close is all they can tell.
    }
  }
  socket.destroy();
}

/** `idleTimeout` 0: none. Both sockets must be connected, allowHalfOpen, and the client may be paused. */
export function relay(client: EndSocket, target: EndSocket, idleTimeout: number): Relay {
  let outcome: RelayOutcome | null = null;
  let failure: { error: Error; side: 'client' | 'target' } | undefined;
  let closed = 0;
  let resolveDone!: (result: RelayResult) => void;
  const done = new Promise<RelayResult>((resolve) => (resolveDone = resolve));

  const bytes = (socket: EndSocket): number => socket.bytesRead ?? 0;
  const cut = (why: RelayOutcome): void => {
    outcome ??= why;
    reset(client);
    reset(target);
  };
  const onError = (side: 'client' | 'target') => (error: Error) => {
    failure ??= { error, side };
    cut('reset');
  };
  const onClose = (): void => {
    if (++closed < 2) {
      // One side gone before it ended its half (a vsock peer that closed, a
      // process killed): the other cannot be finished, only reset.
      if ((client.destroyed && !client.readableEnded) || (target.destroyed && !target.readableEnded)) cut('reset');
      return;
    }
    client.setTimeout(0);
    resolveDone({
      outcome: outcome ?? 'closed',
      bytesIn: bytes(client),
      bytesOut: bytes(target),
      ...(failure === undefined ? {} : failure),
    });
  };

  client.on('error', onError('client'));
  target.on('error', onError('target'));
  client.once('close', onClose);
  target.once('close', onClose);
  if (idleTimeout > 0) {
    // Reads and writes both refresh a socket's idle timer, and every byte
    // forwarded is read on one socket and written on the other: the client's
    // timer sees both directions.
    client.setTimeout(idleTimeout);
    client.on('timeout', () => cut('idle'));
  }
  // Bytes go on as they come: a relay that let Nagle hold a small write back
  // (a keystroke behind output) would add a round trip the peers never asked
  // for. Go's net package, which gvproxy is built on, sets it on every TCP
  // connection by default.
  client.setNoDelay?.(true);
  target.setNoDelay?.(true);
  client.pipe(target);
  target.pipe(client);
  client.resume();

  return {
    done,
    get bytesIn() {
      return bytes(client);
    },
    get bytesOut() {
      return bytes(target);
    },
    cut,
  };
}
