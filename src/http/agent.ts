// node:http and node:https over hvsock: Agent subclasses whose connections
// are hvsock sockets. Everything else is node:http's own Agent: keep-alive
// pooling per host, maxSockets, maxFreeSockets, timeout, destroy().
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { Socket } from '../net/socket.js';
import { kConnectLater } from '../net/options.js';
import type { AddressInput } from '../address/address.js';
import { CachedLookups, HOST_LOOKUPS, type Lookups } from '../forward/lookups.js';
import { FORWARD_DEFAULTS } from '../forward/options.js';
import { validateInteger } from '../errors/validate.js';
import { redialSchedule, type RedialOptions, type RedialSchedule } from '../net/redial.js';
import type { HvsockEnd } from '../forward/ends.js';
import { hvsockAddress } from '../forward/dial.js';
import { readHttpEnd, readTargetOptions, type TargetOptions, type TargetResolver } from './target.js';

/** How an agent reaches its hvsock ends, besides node:http's own Agent options. */
export interface HvDialOptions extends TargetOptions {
  /** Give up one connect after this many ms (default 10000). */
  connectTimeout?: number;
  /** Keep redialing a target that is not there yet for this many ms (or a RedialOptions schedule). */
  redial?: number | RedialOptions;
  /** How `vm:NAME` and `wsl:` are looked up (default: PowerShell and wsl.exe, on a Windows host). */
  lookups?: Lookups;
}

export interface HvAgentOptions extends http.AgentOptions, HvDialOptions {}
export interface HvsAgentOptions extends https.AgentOptions, HvDialOptions {}

/** node:http's createConnection callback: a failure passes no socket. */
type Callback = (error: Error | null, socket: Duplex) => void;

/**
 * The dialing half every adapter shares: which address a request's host
 * maps to, and a Socket for it returned at once. node:http's Agent counts a
 * connection toward maxSockets only once createConnection has handed it
 * over, so a socket handed over later (after a name lookup) would let every
 * queued request open its own: the socket exists at once and connects when
 * its address is known (node:http writes into it meanwhile, as into a
 * connecting net.Socket).
 */
class TargetDialer {
  readonly #target: HvsockEnd | undefined;
  readonly #resolve: TargetResolver | undefined;
  readonly #connectTimeout: number;
  readonly #redial: RedialSchedule | undefined;
  readonly #lookups: CachedLookups;

  constructor(options: HvDialOptions) {
    const { target, resolve } = readTargetOptions(options);
    this.#target = target;
    this.#resolve = resolve;
    this.#connectTimeout = options.connectTimeout ?? FORWARD_DEFAULTS.connectTimeout;
    validateInteger(this.#connectTimeout, 'options.connectTimeout', 1, 2 ** 31 - 1);
    this.#redial = options.redial === undefined ? undefined : redialSchedule(options.redial);
    this.#lookups = new CachedLookups(options.lookups ?? HOST_LOOKUPS);
  }

  /** A socket connecting to where (host, port) goes; a failed lookup destroys it with the lookup's error. */
  open(host: string, port: number): Socket {
    const how = { connectTimeout: this.#connectTimeout, ...(this.#redial === undefined ? {} : { redial: this.#redial }) };
    return new Socket()[kConnectLater](this.#address(host, port).then((address) => ({ ...address, ...how })));
  }

  async #address(host: string, port: number): Promise<AddressInput> {
    const end = this.#target ?? readHttpEnd(await (this.#resolve as TargetResolver)(host, port), 'the resolved target');
    return hvsockAddress(end, this.#lookups);
  }
}

/** A TargetDialer for the fetch dispatcher, which has no Agent to hold one. */
export function createDialer(options: HvDialOptions): { open(host: string, port: number): Socket } {
  return new TargetDialer(options);
}

/** Splits HvDialOptions off the rest, which node:http's Agent takes. */
function split<T extends HvDialOptions>(options: T): [HvDialOptions, Omit<T, keyof HvDialOptions>] {
  const { target, resolve, connectTimeout, redial, lookups, ...rest } = options;
  return [{ target, resolve, connectTimeout, redial, lookups }, rest];
}

/** node:http's Agent over hvsock: `http.get('http://vm/', { agent: new HvAgent({ target: 'vm:MyVM:80' }) })`. */
export class HvAgent extends http.Agent {
  readonly #dialer: TargetDialer;

  constructor(options: HvAgentOptions) {
    const [dialOptions, agentOptions] = split(options);
    super(agentOptions);
    this.#dialer = new TargetDialer(dialOptions);
  }

  /** Called by node:http for each new pooled connection. */
  override createConnection(options: http.ClientRequestArgs, _callback?: Callback): Duplex {
    return this.#dialer.open(String(options.host ?? 'localhost'), Number(options.port ?? 80));
  }
}

/** node:https's Agent over hvsock: TLS (servername from the request's host) on an hvsock connection. */
export class HvsAgent extends https.Agent {
  readonly #dialer: TargetDialer;

  constructor(options: HvsAgentOptions) {
    const [dialOptions, agentOptions] = split(options);
    super(agentOptions);
    this.#dialer = new TargetDialer(dialOptions);
  }

  override createConnection(options: http.ClientRequestArgs, _callback?: Callback): Duplex {
    const socket = this.#dialer.open(String(options.host ?? 'localhost'), Number(options.port ?? 443));
    return tls.connect({ ...(options as tls.ConnectionOptions), socket });
  }
}
