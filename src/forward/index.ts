// hvsock/forward: carry a service across the VM boundary, as `hvsock
// forward` does, from a Node program: forward({ listen, target, ... })
// returns a Forwarder with close(), address(), stats() and events.
export {
  forward,
  Forwarder,
  type ForwardStats,
  type ForwardConnection,
  type ForwardRefusal,
  type ForwardRetry,
  type ForwardRecord,
  type ForwarderEvents,
} from './forwarder.js';
export { FORWARD_DEFAULTS, type ForwardOptions } from './options.js';
export type { RelayOutcome } from './relay.js';
export type { Lookups } from './lookups.js';
export type { RedialOptions } from '../net/redial.js';
