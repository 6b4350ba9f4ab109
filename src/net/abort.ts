// One AbortSignal subscription that can be dropped again: sockets and servers
// stop listening once they are closed, so a long-lived signal does not keep
// them (and their listeners) alive.
export type Unsubscribe = () => void;

export function onAbort(signal: AbortSignal, listener: () => void): Unsubscribe {
  signal.addEventListener('abort', listener, { once: true });
  return () => signal.removeEventListener('abort', listener);
}
