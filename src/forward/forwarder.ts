// One forward rule at work: a listener on the listen end, and for each client
// a connection to the target joined to it (relay.ts). It counts what it does,
// tells every outcome as an event (nothing is dropped without one), and
// closes gracefully: stop accepting, let live connections finish for
// drainTimeout, then reset what is left.
import { EventEmitter } from 'node:events';
import net from 'node:net';
import fs from 'node:fs';
import { createServer as createHvServer } from '../net/api.js';
import type { Server as HvServer } from '../net/server.js';
import type { WslVmNotFoundError } from '../net/server-events.js';
import type { WslRestartEvent } from '../net/wsl-listener.js';
import { typedEventEmitter } from '../net/typed-events.js';
import type { Socket as HvSocket } from '../net/socket.js';
import { formatAddress } from '../address/names.js';
import type { HvSocketAddress } from '../address/address.js';
import { dial, type EndSocket } from './dial.js';
import { tcpText } from './ends.js';
import { CachedLookups, HOST_LOOKUPS } from './lookups.js';
import { readForwardOptions, type ForwardOptions, type ForwardRule } from './options.js';
import { PeerFilter } from './peers.js';
import { relay, reset, type Relay, type RelayOutcome } from './relay.js';

/** A rule's counters, live. */
export interface ForwardStats {
  /** Connections open now (those still connecting to the target included). */
  active: number;
  /** Connections accepted and let in, from the start. */
  total: number;
  /** Turned away at once: not on the allowlist, or over maxConnections. */
  refused: number;
  /** Ended by a failure: the target unreachable, or a reset mid-connection. */
  errors: number;
  /** Bytes from clients to the target, and back, over every connection so far (live ones included). */
  bytesIn: number;
  bytesOut: number;
}

/** What the 'connection' event tells: a client was let in, its target is being dialed. */
export interface ForwardConnection {
  /** Counts from 1 per forward. */
  id: number;
  rule: string;
  /** The client in the short form: `3:1034`, `tcp:127.0.0.1:50122`, `unix`, `pipe`. */
  peer: string;
}

/** What 'refused' tells: a client turned away before any target was dialed. */
export interface ForwardRefusal extends ForwardConnection {
  reason: 'not-allowed' | 'limit' | 'closing';
  /** One sentence: "3:1034 is not on the allowlist (parent, 5)". */
  message: string;
}

/** What 'retry' tells: a connect to the target failed and will be tried again. */
export interface ForwardRetry extends ForwardConnection {
  attempt: number;
  delay: number;
  error: Error;
}

/** What 'end' tells: one connection is over. */
export interface ForwardRecord extends ForwardConnection {
  target: string;
  /** `failed`: the target could not be reached; otherwise how the relay ended. */
  outcome: RelayOutcome | 'failed';
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
  error?: Error;
  /** Which side the error came from. */
  side?: 'client' | 'target';
}

export interface ForwarderEvents {
  listening: [];
  connection: [ForwardConnection];
  refused: [ForwardRefusal];
  retry: [ForwardRetry];
  end: [ForwardRecord];
  error: [Error];
  close: [];
  /** A `wsl:` listen end lost WSL 2's VM (WSL stopped) and waits for it. */
  wsldown: [WslVmNotFoundError];
  /** A `wsl:` listen end follows WSL 2 to its new VM ID. */
  wslrestart: [WslRestartEvent];
}

type Listener = net.Server | HvServer;

interface Live {
  client: EndSocket;
  abort: AbortController;
  relay?: Relay;
}

/** The client's address as logs write it. */
function peerOf(rule: ForwardRule, socket: EndSocket): string {
  const hv = (socket as HvSocket).remoteHvAddress as HvSocketAddress | undefined;
  if (hv !== undefined) return formatAddress(hv);
  const tcp = socket as net.Socket;
  if (tcp.remoteAddress !== undefined) return tcpText(tcp.remoteAddress, tcp.remoteFamily, tcp.remotePort);
  return rule.listen.kind;
}

// Typed events (typed-events.ts): a misspelt event name or a listener of the wrong shape does not compile.
export class Forwarder extends typedEventEmitter<ForwarderEvents>(EventEmitter) {
  readonly rule: ForwardRule;
  readonly #server: Listener;
  readonly #filter: PeerFilter | undefined;
  readonly #lookups: CachedLookups;
  readonly #live = new Set<Live>();
  readonly #stats: ForwardStats = { active: 0, total: 0, refused: 0, errors: 0, bytesIn: 0, bytesOut: 0 };
  #ids = 0;
  #listening = false;
  #closing: Promise<void> | null = null;
  #drained: (() => void) | null = null;

  constructor(options: ForwardOptions) {
    super();
    this.rule = readForwardOptions(options);
    this.#lookups = new CachedLookups(this.rule.lookups ?? HOST_LOOKUPS);
    this.#filter = this.rule.allow === undefined ? undefined : new PeerFilter(this.rule.allow, this.#lookups);
    const serverOptions = { allowHalfOpen: true, pauseOnConnect: true };
    const kind = this.rule.listen.kind;
    this.#server = kind === 'hvsock' || kind === 'fd' ? createHvServer(serverOptions) : net.createServer(serverOptions);
    (this.#server as net.Server).on('connection', (socket: EndSocket) => this.#accept(socket));
    // Errors while opening the listen end are #listen's to tell (a stale unix socket is reclaimed, not reported).
    (this.#server as net.Server).on('error', (error: Error) => {
      if (this.#listening) this.emit('error', error);
    });
    if (this.rule.listen.kind === 'hvsock' && this.rule.listen.address.wsl === true) {
      const server = this.#server as HvServer;
      server.on('wsldown', (error) => this.emit('wsldown', error));
      server.on('wslrestart', (event) => this.emit('wslrestart', event));
    }
    process.nextTick(() => this.#listen(true));
  }

  /** Whether the listen end is open. */
  get listening(): boolean {
    return this.#listening;
  }

  /** The listen end's address: an hvsock address, node:net's `{ address, family, port }`, or a pipe/socket path. */
  address(): HvSocketAddress | net.AddressInfo | string | null {
    return this.#server.address() as HvSocketAddress | net.AddressInfo | string | null;
  }

  /** The counters now (a copy): active, total, refused, errors, bytes each way. */
  stats(): ForwardStats {
    let bytesIn = this.#stats.bytesIn;
    let bytesOut = this.#stats.bytesOut;
    for (const live of this.#live) {
      bytesIn += live.relay?.bytesIn ?? 0;
      bytesOut += live.relay?.bytesOut ?? 0;
    }
    return { ...this.#stats, bytesIn, bytesOut };
  }

  /**
   * Stops accepting, lets live connections finish for `timeout` ms (default
   * the rule's drainTimeout; 0 resets them at once), then resets the rest.
   * Resolves once every connection is gone. Calling it again while closing
   * only shortens the wait when given a timeout.
   */
  close(timeout: number = this.rule.drainTimeout): Promise<void> {
    if (this.#closing !== null) {
      if (timeout === 0) this.#cutAll();
      return this.#closing;
    }
    this.#closing = new Promise<void>((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.#listening = false;
        this.emit('close');
        resolve();
      };
      const timer = setTimeout(() => this.#cutAll(), timeout);
      timer.unref();
      let serverClosed = !this.#listening;
      const check = (): void => {
        if (serverClosed && this.#live.size === 0) finish();
      };
      this.#drained = check;
      if (this.#listening) {
        this.#server.close(() => {
          serverClosed = true;
          check();
        });
      }
      if (timeout === 0) this.#cutAll();
      check();
    });
    return this.#closing;
  }

  #cutAll(): void {
    for (const live of this.#live) {
      live.abort.abort(new Error('the forward closed'));
      if (live.relay !== undefined) live.relay.cut('cut');
      else live.client.destroy();
    }
  }

  #listen(firstTry: boolean): void {
    if (this.#closing !== null) return;
    const end = this.rule.listen;
    // Both servers are EventEmitters; their typed overloads do not unite.
    const events: EventEmitter = this.#server;
    const onListening = (): void => {
      events.removeListener('error', onError);
      this.#listening = true;
      this.emit('listening');
    };
    const onError = (error: Error & { code?: string }): void => {
      events.removeListener('listening', onListening);
      // A unix socket file left by a forward that died: reuse the path if nobody answers on it.
      if (firstTry && end.kind === 'unix' && error.code === 'EADDRINUSE') void this.#reclaim(end.path);
      else this.emit('error', error);
    };
    events.once('listening', onListening);
    events.once('error', onError);
    switch (end.kind) {
      case 'hvsock':
        (this.#server as HvServer).listen({ ...end.address, ...(this.rule.backlog === undefined ? {} : { backlog: this.rule.backlog }) });
        break;
      case 'fd':
        (this.#server as HvServer).listen({ fd: end.fd });
        break;
      case 'tcp':
        (this.#server as net.Server).listen({ host: end.host, port: end.port, backlog: this.rule.backlog });
        break;
      case 'unix':
      case 'pipe':
        (this.#server as net.Server).listen({ path: end.path, backlog: this.rule.backlog });
        break;
      default:
        throw new Error(`${end.text} cannot be listened on`);
    }
  }

  /** EADDRINUSE on a unix socket path: a live listener keeps it; a stale file (connect refused) is removed and listened on. */
  async #reclaim(path: string): Promise<void> {
    const alive = await new Promise<boolean>((resolve) => {
      const probe = net.connect({ path });
      probe.once('connect', () => {
        probe.destroy();
        resolve(true);
      });
      probe.once('error', () => resolve(false));
    });
    if (alive) {
      const error = Object.assign(new Error(`listen EADDRINUSE: ${path} is in use by a running listener`), { code: 'EADDRINUSE', syscall: 'listen', address: path });
      this.emit('error', error);
      return;
    }
    try {
      if (fs.statSync(path).isSocket()) fs.unlinkSync(path);
    } catch {
      // Gone already, or not ours to remove: the second listen reports it.
    }
    this.#listen(false);
  }

  #accept(client: EndSocket): void {
    const id = ++this.#ids;
    const peer = peerOf(this.rule, client);
    const info: ForwardConnection = { id, rule: this.rule.name, peer };
    // Until it is joined to the target, an error here only ends this client.
    const early = (): void => undefined;
    client.on('error', early);
    const refuse = (reason: ForwardRefusal['reason'], message: string): void => {
      this.#stats.refused++;
      reset(client);
      this.emit('refused', { ...info, reason, message });
    };
    if (this.#closing !== null) return refuse('closing', `${peer} came in while the forward was closing`);
    if (this.#stats.active >= this.rule.maxConnections) {
      return refuse('limit', `${peer} is over the limit of ${this.rule.maxConnections} simultaneous connections`);
    }
    const live: Live = { client, abort: new AbortController() };
    this.#live.add(live);
    this.#stats.active++;
    const started = performance.now();
    const onClientGone = (): void => live.abort.abort(new Error('the client left before the target answered'));
    client.once('close', onClientGone);
    void this.#admit(live).then(async (allowed) => {
      if (!allowed) {
        client.removeListener('close', onClientGone);
        this.#stats.active--;
        this.#live.delete(live);
        refuse('not-allowed', `${peer} is not on the allowlist`);
        this.#drained?.();
        return;
      }
      this.#stats.total++;
      this.emit('connection', info);
      const record = (fields: Omit<ForwardRecord, keyof ForwardConnection | 'target' | 'durationMs'>): void => {
        this.#stats.active--;
        this.#live.delete(live);
        this.#stats.bytesIn += fields.bytesIn;
        this.#stats.bytesOut += fields.bytesOut;
        if ((fields.outcome === 'failed' && fields.side === 'target') || fields.outcome === 'reset') this.#stats.errors++;
        this.emit('end', { ...info, target: this.rule.target.text, durationMs: performance.now() - started, ...fields });
        this.#drained?.();
      };
      let target: EndSocket;
      try {
        target = await dial(
          this.rule.target,
          { connectTimeout: this.rule.connectTimeout, redial: this.rule.redial, signal: live.abort.signal, lookups: this.#lookups },
          (attempt, delay, error) => this.emit('retry', { ...info, attempt, delay, error: error as Error }),
        );
      } catch (error) {
        const side = live.abort.signal.aborted ? 'client' : 'target';
        // Only a target that failed may have moved (a VM recreated): a client that left says nothing of it.
        if (side === 'target') this.#forgetTarget();
        // The client learns it failed (an RST on TCP), rather than seeing a service that said nothing.
        reset(client);
        record({ outcome: 'failed', bytesIn: 0, bytesOut: 0, error: error as Error, side });
        return;
      }
      client.removeListener('close', onClientGone);
      client.removeListener('error', early);
      live.relay = relay(client, target, this.rule.idleTimeout);
      record(await live.relay.done);
    });
  }

  /** The allowlist's answer, for an hvsock listen end; other ends have no peers to filter. */
  async #admit(live: Live): Promise<boolean> {
    if (this.#filter === undefined || this.#filter.allowsAny) return true;
    return this.#filter.allows((live.client as HvSocket).remoteHvAddress);
  }

  /** A connect to a looked-up target failed: look it up again next time (the VM may have been recreated). */
  #forgetTarget(): void {
    const target = this.rule.target;
    if (target.kind === 'vm') this.#lookups.forget(`vm:${target.vmName}`);
    else if (target.kind === 'hvsock' && target.address.wsl === true) this.#lookups.forget('wsl');
  }
}

/**
 * Starts forwarding connections from `options.listen` to `options.target`.
 * Options are checked at once (TypeError / RangeError naming the field);
 * the forwarder emits 'listening' when the listen end is open, or 'error'.
 */
export function forward(options: ForwardOptions): Forwarder {
  return new Forwarder(options);
}
