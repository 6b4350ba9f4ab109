// `hvsock wsl id`: WSL 2's VM ID and where it came from; and the lookup that
// turns a `wsl:` address into a VM ID for commands that connect once.
import type { AddressInput, HvSocketAddress } from '../address/address.js';
import type { Server } from '../net/server.js';
import type { ParsedAddress } from '../address/text.js';
import { ERR_WSL_ON_LINUX } from '../net/wsl-listener.js';
import { ERR_WSL_VM_NOT_FOUND, getWslVmId, lookupWslVmId, type WslVmNotFoundError } from '../host/wsl/vm-id.js';
import { addressText } from './addresses.js';
import { EXIT_OK, EXIT_UNAVAILABLE } from './exit-codes.js';

export interface WslIo {
  out: (text: string) => void;
  /** Lines for the user on stderr; the caller prefixes them with the command. */
  log: (text: string) => void;
}

/** `hvsock wsl id`. */
export async function runWslId(json: boolean, io: WslIo): Promise<number> {
  try {
    const found = await lookupWslVmId();
    io.out(json ? JSON.stringify(found, null, 2) : found.vmId);
    return EXIT_OK;
  } catch (error) {
    if ((error as { code?: unknown }).code !== ERR_WSL_VM_NOT_FOUND) throw error;
    const { attempts } = error as WslVmNotFoundError;
    if (json) io.out(JSON.stringify({ vmId: null, code: ERR_WSL_VM_NOT_FOUND, attempts }, null, 2));
    else io.log(['no running WSL 2 VM was found:', ...attempts.map((a) => `  ${a.source}: ${a.reason}`)].join('\n'));
    return EXIT_UNAVAILABLE;
  }
}

/**
 * For commands that connect once (connect, bench): `wsl:<port>` becomes
 * WSL's current VM ID, looked up now. On Linux, where WSL is seen from the
 * inside, a usage error that says what to write instead.
 */
export async function withWslVmId(address: ParsedAddress, platform: NodeJS.Platform = process.platform): Promise<AddressInput> {
  if (address.wsl !== true) return address;
  if (platform === 'linux') throw ERR_WSL_ON_LINUX('address', 'wsl');
  const { wsl: _wsl, ...rest } = address;
  return { ...rest, vmId: await getWslVmId() };
}

/** "WSL restarted: now listening on <new-vm-id>:5000 (was <old-vm-id>:5000)", in the short form. */
export function wslRestartLine(listening: HvSocketAddress | null, previousVmId: string): string {
  const service = { port: listening?.port, serviceId: listening?.serviceId };
  return `WSL restarted: now listening on ${addressText(listening)} (was ${addressText({ vmId: previousVmId, ...service })})`;
}

/** What a server listening on wsl:<port> tells the user as WSL stops and restarts. */
export function reportWsl(server: Server, log: (message: string) => void): void {
  server.on('wsldown', (error) => log(`waiting for WSL 2 (${error.message})`));
  server.on('wslrestart', ({ previousVmId }) => log(wslRestartLine(server.address(), previousVmId)));
}
