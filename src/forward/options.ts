// forward()'s options, checked in full before anything listens: a wrong
// value is a TypeError / RangeError with an ERR_* code that names the field
// (`rules[2].allow[0]` when it came from a config file).
import { currentPlatform, type AddressPlatform } from '../address/address.js';
import { ERR_INVALID_ARG_VALUE } from '../errors/errors.js';
import { validateInteger, validateObject, validateString } from '../errors/validate.js';
import { redialSchedule, type RedialOptions, type RedialSchedule } from '../net/redial.js';
import { isHvsockEnd, parseEnd, type ForwardEnd } from './ends.js';
import type { Lookups } from './lookups.js';
import { parseAllowList, type PeerRule } from './peers.js';

/** Largest timer delay Node accepts (setTimeout's TIMEOUT_MAX). */
const TIMEOUT_MAX = 2 ** 31 - 1;

export const FORWARD_DEFAULTS = {
  /** What exceeds it is refused at once: a forward never queues without bound. */
  maxConnections: 256,
  /** openvmm raised its hvsocket connect timeout from 2 s to 10 s for slow guests (microsoft/openvmm#2485). */
  connectTimeout: 10_000,
  /** close() lets live connections finish this long, then resets them. */
  drainTimeout: 10_000,
} as const;

export interface ForwardOptions {
  /** Where clients connect: `any:5000`, `tcp:2222`, `tcp:0.0.0.0:8080`, `unix:/run/x.sock`, `pipe:NAME`, `fd:3`. */
  listen: string;
  /** Where each connection goes: `parent:22`, `vm:MyVM:22`, `wsl:8080`, `tcp:HOST:PORT`, `unix:PATH`, `pipe:NAME`. */
  target: string;
  /** The rule's name in logs and stats (default: "<listen> -> <target>"). */
  name?: string;
  /**
   * Peers a listening hvsock end lets in: `['any']`, CIDs, VM GUIDs,
   * `parent`, `loopback`, `wsl`, `vm:NAME` (or one comma-separated string).
   * Required for an hvsock listen end, where `any` must be said; not taken by
   * other listen ends.
   */
  allow?: string | readonly string[];
  /** Simultaneous connections (dialing ones included); more are refused at once (default 256). */
  maxConnections?: number;
  /** Give up one connect to the target after this many ms (default 10000). */
  connectTimeout?: number;
  /** Keep redialing a target that is not there yet for this many ms (or a RedialOptions schedule); default none. */
  redial?: number | RedialOptions;
  /** Close a connection after this many ms without a byte either way (default 0: never). */
  idleTimeout?: number;
  /** close() waits this many ms for live connections before resetting them (default 10000). */
  drainTimeout?: number;
  /** Listen backlog (default the listener's own). */
  backlog?: number;
  /** How `vm:NAME` and `wsl` are looked up (default: the host tools, PowerShell and wsl.exe). */
  lookups?: Lookups;
}

/** ForwardOptions checked and with every default filled in. */
export interface ForwardRule {
  name: string;
  listen: ForwardEnd;
  target: ForwardEnd;
  /** Undefined: the listen end has no hvsock peers to filter. */
  allow: PeerRule[] | undefined;
  maxConnections: number;
  connectTimeout: number;
  redial: RedialSchedule | undefined;
  idleTimeout: number;
  drainTimeout: number;
  backlog: number | undefined;
  lookups: Lookups | undefined;
}

/** Whether a target host reaches a listen host: also localhost (a target's default) and the loopback address it names, as in `tcp:2222 tcp:2222`. */
function sameTcpHost(listen: string, target: string): boolean {
  const [a, b] = [listen.toLowerCase(), target.toLowerCase()];
  const loopback = (host: string): boolean => host === '127.0.0.1' || host === '::1';
  return a === b || (a === 'localhost' && loopback(b)) || (b === 'localhost' && loopback(a));
}

/** A required option left out: node's ERR_MISSING_OPTION, with what to write. */
function missing(field: string, what: string): TypeError & { code: string } {
  return Object.assign(new TypeError(`${field} is required: ${what}`), { code: 'ERR_MISSING_OPTION' });
}

function optionalMs(value: unknown, field: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  validateInteger(value, field, min, TIMEOUT_MAX);
  return value;
}

/**
 * Checks one rule. `prefix` names where it came from ('options',
 * 'rules[2]'); `platform` is the OS it is for (default this one).
 */
export function readForwardOptions(options: unknown, prefix = 'options', platform: AddressPlatform | undefined = currentPlatform()): ForwardRule {
  validateObject(options, prefix);
  const o = options as Record<string, unknown>;
  const known = new Set(['listen', 'target', 'name', 'allow', 'maxConnections', 'connectTimeout', 'redial', 'idleTimeout', 'drainTimeout', 'backlog', 'lookups']);
  const stray = Object.keys(o).find((key) => !known.has(key));
  if (stray !== undefined) throw ERR_INVALID_ARG_VALUE(`${prefix}.${stray}`, o[stray], `is not an option of a forward: it takes ${[...known].join(', ')}`);
  if (o.listen === undefined) throw missing(`${prefix}.listen`, 'say where clients connect, e.g. tcp:2222 or any:5000');
  if (o.target === undefined) throw missing(`${prefix}.target`, 'say where connections go, e.g. parent:22 or tcp:localhost:80');
  const listen = parseEnd(o.listen, 'listen', `${prefix}.listen`, platform);
  const target = parseEnd(o.target, 'target', `${prefix}.target`, platform);
  if (o.name !== undefined) {
    validateString(o.name, `${prefix}.name`);
    if (o.name.trim() === '' || o.name.length > 100 || /[\r\n]/.test(o.name)) {
      throw ERR_INVALID_ARG_VALUE(`${prefix}.name`, o.name, 'must be 1 to 100 characters on one line');
    }
  }
  let allow: PeerRule[] | undefined;
  if (isHvsockEnd(listen)) {
    if (o.allow === undefined) {
      throw missing(`${prefix}.allow`, `${listen.text} takes connections from other machines, so name the peers to let in (any, a CID, a VM GUID, parent, loopback, wsl or vm:NAME); write any to let every peer in`);
    }
    allow = parseAllowList(o.allow, `${prefix}.allow`, platform);
  } else if (o.allow !== undefined) {
    throw ERR_INVALID_ARG_VALUE(`${prefix}.allow`, o.allow, `filters hvsock peers, and ${listen.text} is not an hvsock listen end (bind it to a local address instead)`);
  }
  const maxConnections = o.maxConnections ?? FORWARD_DEFAULTS.maxConnections;
  validateInteger(maxConnections, `${prefix}.maxConnections`, 1, 1_000_000);
  const connectTimeout = optionalMs(o.connectTimeout, `${prefix}.connectTimeout`, FORWARD_DEFAULTS.connectTimeout, 1);
  const redial = o.redial === undefined ? undefined : redialSchedule(o.redial, `${prefix}.redial`);
  const idleTimeout = optionalMs(o.idleTimeout, `${prefix}.idleTimeout`, 0);
  const drainTimeout = optionalMs(o.drainTimeout, `${prefix}.drainTimeout`, FORWARD_DEFAULTS.drainTimeout);
  if (o.backlog !== undefined) validateInteger(o.backlog, `${prefix}.backlog`, 1, 65535);
  if (o.lookups !== undefined) {
    validateObject(o.lookups, `${prefix}.lookups`);
    const l = o.lookups as Record<string, unknown>;
    if (typeof l.vmId !== 'function' || typeof l.wslVmId !== 'function') {
      throw ERR_INVALID_ARG_VALUE(`${prefix}.lookups`, o.lookups, 'must have vmId(name) and wslVmId() functions returning promises of GUIDs');
    }
  }
  if (listen.kind === 'tcp' && target.kind === 'tcp' && listen.port === target.port && sameTcpHost(listen.host, target.host)) {
    throw ERR_INVALID_ARG_VALUE(`${prefix}.target`, target.text, `is the listen end itself (${listen.text}): every connection would loop`);
  }
  return {
    name: (o.name as string | undefined)?.trim() ?? `${listen.text} -> ${target.text}`,
    listen,
    target,
    allow,
    maxConnections,
    connectTimeout,
    redial,
    idleTimeout,
    drainTimeout,
    backlog: o.backlog as number | undefined,
    lookups: o.lookups as Lookups | undefined,
  };
}
