// listen({ wsl: true, port }): a Windows server for WSL 2. It binds the WSL
// VM's ID (a wildcard listener never hears WSL: docs/hyperv-facts.md#wsl-2)
// and, because that ID changes each time WSL restarts, checks it every few
// seconds and binds the new one itself. Here: the option's checks, the watch
// that notices a restart and the WslListener that rebinds; Server lends it
// its listen steps (WslServer). Only a Windows machine with WSL shows a real
// restart; the engine suite drives this with an ID source it changes.
import type { ResolvedAddress } from '../address/address.js';
import { HV_GUID_WILDCARD } from '../address/constants.js';
import { ERR_INVALID_ARG_VALUE } from '../errors/errors.js';
import { isGuid, normalizeGuid } from '../address/guid.js';
import { WSL_MACHINE_NAME } from '../address/names.js';
import type { ListenOptions } from './options.js';
import { validateBoolean } from '../errors/validate.js';
import { followWslVmId, type WslVmNotFoundError } from '../host/wsl/vm-id.js';
import type { NativeHandle } from '../transport/native.js';
import type { SocketOption, SocketPlatform } from '../transport/platform.js';

/** How often a WSL server checks whether WSL has restarted. */
export const WSL_CHECK_INTERVAL_MS = 5000;

/** The `wsl` option listen() takes on Windows. */
export interface WslListenOptions {
  /**
   * Listen on WSL 2's VM, following it across WSL restarts (Windows only):
   * the machine part is looked up (getWslVmId), so give no cid or vmId.
   */
  wsl?: boolean;
}

/** The 'wslrestart' event: WSL restarted and the server now listens on its new VM. */
export interface WslRestartEvent {
  /** The VM ID the server listened on before WSL restarted. */
  previousVmId: string;
  /** The VM ID it listens on now. */
  vmId: string;
}

/** Where a WSL server's VM ID comes from: given the bound one (or null), the current one. */
export type WslVmIdFollower = (previous: string | null) => Promise<string>;

/** Not public API: another VM ID source and check interval, for tests. */
export const kWslFollow = Symbol('hvsock.wslFollow');
export interface WslFollowOverride {
  source?: WslVmIdFollower;
  intervalMs?: number;
}
export interface InternalWslListenOptions extends ListenOptions, WslListenOptions {
  [kWslFollow]?: WslFollowOverride;
}

/** Linux sees WSL from the inside: there the Windows host is CID 2. */
export function ERR_WSL_ON_LINUX(name: string, value: unknown): TypeError & { code: string } {
  return ERR_INVALID_ARG_VALUE(
    name,
    value,
    "names WSL 2's VM, which only its Windows host can address: inside WSL, reach Windows with parent:<port> (CID 2) and listen on any:<port>",
  );
}

/** Whether listen options ask to follow WSL (a boolean, or a TypeError). */
export function wantsWsl(options: WslListenOptions & { host?: unknown }): boolean {
  // { host: 'wsl' } (and the short form "wsl:5000") is the same request.
  if (typeof options.host === 'string' && options.host.trim().toLowerCase() === WSL_MACHINE_NAME) return true;
  if (options.wsl === undefined) return false;
  validateBoolean(options.wsl, 'options.wsl');
  return options.wsl;
}

/** The address without `wsl`, which stands for the machine part: giving one as well is an error. */
export function wslServicePart(options: InternalWslListenOptions): ListenOptions {
  for (const key of ['cid', 'vmId', 'fd'] as const) {
    if (options[key] !== undefined) {
      throw ERR_INVALID_ARG_VALUE(`options.${key}`, options[key], 'cannot be given with wsl: true, which looks the VM up itself');
    }
  }
  const { wsl: _wsl, host: _host, ...rest } = options;
  return rest;
}

export function defaultWslFollower(): WslVmIdFollower {
  return (previous) => followWslVmId(previous);
}

export interface WslWatchHandlers {
  /** Bind this VM ID (the first, or a new one after a restart); false when that failed and the watch is over. */
  found(vmId: string, previous: string | null): boolean;
  /** The VM cannot be found now; called once per spell, the watch goes on. */
  lost(error: Error): void;
}

/**
 * Asks the source for the VM ID now and then every `intervalMs` after each
 * answer (never two questions at once), and reports changes. Its timer holds
 * the event loop only when told to: a server that has bound a listener is
 * kept alive by it, one still waiting for WSL by this timer.
 */
export class WslWatch {
  readonly #source: WslVmIdFollower;
  readonly #intervalMs: number;
  readonly #handlers: WslWatchHandlers;
  #current: string | null = null;
  #down = false;
  #stopped = false;
  #keepAlive = false;
  #timer: NodeJS.Timeout | null = null;

  constructor(source: WslVmIdFollower, intervalMs: number, handlers: WslWatchHandlers) {
    this.#source = source;
    this.#intervalMs = intervalMs;
    this.#handlers = handlers;
  }

  start(): void {
    void this.#check();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  setKeepAlive(keepAlive: boolean): void {
    this.#keepAlive = keepAlive;
    if (keepAlive) this.#timer?.ref();
    else this.#timer?.unref();
  }

  async #check(): Promise<void> {
    let vmId: string;
    try {
      const answer = await this.#source(this.#current);
      if (!isGuid(answer)) throw new Error(`the WSL VM ID source answered ${String(answer)}, not a GUID`);
      vmId = normalizeGuid(answer);
    } catch (error) {
      if (this.#stopped) return;
      if (!this.#down) {
        this.#down = true;
        this.#handlers.lost(error instanceof Error ? error : new Error(String(error)));
      }
      this.#schedule();
      return;
    }
    if (this.#stopped) return;
    // Back with the same ID: the check failed, WSL had not restarted.
    this.#down = false;
    if (vmId !== this.#current) {
      const previous = this.#current;
      if (!this.#handlers.found(vmId, previous)) return;
      this.#current = vmId;
    }
    this.#schedule();
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#check();
    }, this.#intervalMs);
    if (!this.#keepAlive) this.#timer.unref();
  }
}

/** What listen({ wsl: true }) binds besides the machine, checked before the first lookup. */
export interface WslListenPlan {
  /** The address without its machine part (wslServicePart). */
  service: ListenOptions;
  socketOptions: SocketOption[];
  acceptedOptions: SocketOption[];
}

/**
 * listen({ wsl: true })'s checks, made at once as listen() makes them: a bad
 * port fails here, not at the first bind after the lookup.
 */
export function planWslListen(options: InternalWslListenOptions, platform: SocketPlatform): WslListenPlan {
  if (platform.name === 'linux') throw ERR_WSL_ON_LINUX('options.wsl', options.wsl);
  const service = wslServicePart(options);
  // The service part, checked with a stand-in machine.
  platform.resolve({ ...service, vmId: HV_GUID_WILDCARD }, 'listen');
  return { service, socketOptions: platform.socketOptions(options), acceptedOptions: platform.acceptedSocketOptions(options) };
}

/** What a WslListener asks of its Server. */
export interface WslServer {
  /**
   * Listens on `target` as listen() would, in place of the listener of WSL's
   * previous VM (gone, and closed first): the new listener, or the error.
   */
  listenOn(target: ResolvedAddress): NativeHandle | Error;
  /** Whether `listener` is still the server's (not closed or replaced since). */
  isListening(listener: NativeHandle): boolean;
  /** The first VM is bound: 'listening'. */
  listening(): void;
  /** A new VM is bound after a restart: 'wslrestart'. */
  restarted(event: WslRestartEvent): void;
  /** WSL's VM is gone or not found: 'wsldown'. */
  down(error: WslVmNotFoundError): void;
  /** As a failed listen(): 'error', and the server stops (then 'close'). */
  failed(error: Error): void;
}

/** A Server's listen({ wsl: true }): binds WSL's VM once it is found and again after each restart. */
export class WslListener {
  readonly #watch: WslWatch;
  readonly #platform: SocketPlatform;
  readonly #service: ListenOptions;
  readonly #server: WslServer;

  constructor(platform: SocketPlatform, plan: WslListenPlan, override: WslFollowOverride | undefined, server: WslServer) {
    this.#platform = platform;
    this.#service = plan.service;
    this.#server = server;
    this.#watch = new WslWatch(override?.source ?? defaultWslFollower(), override?.intervalMs ?? WSL_CHECK_INTERVAL_MS, {
      found: (vmId, previous) => this.#bind(vmId, previous),
      // The default source fails only with ERR_WSL_VM_NOT_FOUND (getWslVmId records every other failure in it).
      lost: (error) => server.down(error as WslVmNotFoundError),
    });
  }

  start(): void {
    this.#watch.start();
  }

  stop(): void {
    this.#watch.stop();
  }

  /** Until a listener is bound, the watch is what keeps a ref()ed server's process alive. */
  setKeepAlive(keepAlive: boolean): void {
    this.#watch.setKeepAlive(keepAlive);
  }

  /** Listens on WSL's VM `vmId`, in place of `previous`'s listener; a failure closes the server. */
  #bind(vmId: string, previous: string | null): boolean {
    const server = this.#server;
    let target: ResolvedAddress;
    try {
      // Throws only for an ID this OS cannot bind (from an odd source).
      target = this.#platform.resolve({ ...this.#service, vmId }, 'listen');
    } catch (error) {
      server.failed(error as Error);
      return false;
    }
    const listener = server.listenOn(target);
    if (listener instanceof Error) {
      server.failed(listener);
      return false;
    }
    this.#watch.setKeepAlive(false);
    process.nextTick(() => {
      if (!server.isListening(listener)) return;
      if (previous === null) server.listening();
      else server.restarted({ previousVmId: previous, vmId });
    });
    return true;
  }
}
