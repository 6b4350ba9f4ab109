// Names a forward looks up (a Hyper-V VM by name, WSL 2's VM ID), each kept
// for a while. A lookup runs PowerShell or wsl.exe and takes about a second:
// once per connection would add that to every connect, and a peer that keeps
// knocking would keep spawning processes. A VM recreated or WSL restarted
// under a running forward is picked up when the entry expires, or at once
// after a connect to the old ID failed (forget()).
import { getVmId } from '../host/vms.js';
import { getWslVmId } from '../host/wsl/vm-id.js';

export interface Lookups {
  vmId(name: string): Promise<string>;
  wslVmId(): Promise<string>;
}

/** How long an answer stands; a failure is asked again sooner. */
const FOUND_TTL_MS = 30_000;
const FAILED_TTL_MS = 5_000;

/** The host tools' lookups, as a forward uses them by default. */
export const HOST_LOOKUPS: Lookups = { vmId: (name) => getVmId(name), wslVmId: () => getWslVmId() };

export class CachedLookups implements Lookups {
  readonly #source: Lookups;
  readonly #entries = new Map<string, { answer: Promise<string>; until: number }>();

  constructor(source: Lookups) {
    this.#source = source;
  }

  vmId(name: string): Promise<string> {
    return this.#get(`vm:${name}`, () => this.#source.vmId(name));
  }

  wslVmId(): Promise<string> {
    return this.#get('wsl', () => this.#source.wslVmId());
  }

  /** Drops what is known about a `vm:NAME` or `wsl` target: the next connect looks it up again. */
  forget(key: string): void {
    this.#entries.delete(key);
  }

  #get(key: string, ask: () => Promise<string>): Promise<string> {
    const now = performance.now();
    const known = this.#entries.get(key);
    if (known !== undefined && now < known.until) return known.answer;
    // Concurrent connects share one lookup.
    const answer = ask();
    const entry = { answer, until: now + FOUND_TTL_MS };
    this.#entries.set(key, entry);
    answer.catch(() => {
      entry.until = performance.now() + FAILED_TTL_MS;
    });
    return answer;
  }
}
