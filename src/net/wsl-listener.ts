// listen({ wsl: true, port }): a Windows server for WSL 2. It binds the WSL
// VM's ID (a wildcard listener never hears WSL) and, because that ID changes
// each time WSL restarts, checks it every few seconds and binds the new one
// itself. Here: the option's checks and the watch that drives the rebinding;
// Server does the binding. Only a Windows machine with WSL shows a real
// restart; the engine suite drives this watch with an ID source it changes.
import { ERR_INVALID_ARG_VALUE } from '../errors/errors.js';
import { isGuid, normalizeGuid } from '../address/guid.js';
import { WSL_MACHINE_NAME } from '../address/names.js';
import type { ListenOptions } from './options.js';
import { validateBoolean } from '../errors/validate.js';
import { followWslVmId } from '../host/wsl/vm-id.js';

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

  /** The VM ID bound last, or null before the first. */
  get vmId(): string | null {
    return this.#current;
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
