// `hvsock wsl id`: WSL 2's VM ID and where it came from; and the lookup that
// turns a `wsl:` address into a VM ID for commands that connect once.
import type { AddressInput } from '../address/address.js';
import type { Server } from '../net/server.js';
import type { ParsedAddress } from '../address/text.js';
import { ERR_WSL_ON_LINUX } from '../net/wsl-listener.js';
import { ERR_WSL_VM_NOT_FOUND, getWslVmId, lookupWslVmId, type WslVmNotFoundError } from '../host/wsl/vm-id.js';
import { EXIT_OK, EXIT_UNAVAILABLE } from './exit-codes.js';

export interface WslArgs {
  action: string | undefined;
  json: boolean;
}

export interface WslIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

export async function runWsl(args: WslArgs, io: WslIo): Promise<number> {
  if (args.action !== 'id') {
    throw Object.assign(new Error(`wsl needs id, not "${args.action ?? ''}"`), { code: 'ERR_INVALID_ARG_VALUE' });
  }
  try {
    const found = await lookupWslVmId();
    io.out(args.json ? JSON.stringify(found, null, 2) : found.vmId);
    return EXIT_OK;
  } catch (error) {
    if ((error as { code?: unknown }).code !== ERR_WSL_VM_NOT_FOUND) throw error;
    const { attempts } = error as WslVmNotFoundError;
    if (args.json) io.out(JSON.stringify({ vmId: null, code: ERR_WSL_VM_NOT_FOUND, attempts }, null, 2));
    else io.err(['hvsock: no running WSL 2 VM was found:', ...attempts.map((a) => `  ${a.source}: ${a.reason}`)].join('\n'));
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

/** What a server listening on wsl:<port> tells the user as WSL stops and restarts. */
export function reportWsl(server: Server, log: (message: string) => void): void {
  server.on('wsldown', (error) => log(`hvsock: waiting for WSL 2 (${error.message})`));
  server.on('wslrestart', ({ previousVmId, vmId }) => log(`hvsock: WSL restarted: now listening on its VM ${vmId} (was ${previousVmId})`));
}
