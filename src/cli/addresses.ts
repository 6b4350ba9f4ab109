// Addresses in and out of the CLI. In: the text a user typed, parsed and
// checked against this OS before any socket exists, so that a wrong address
// is a usage error about that text. Out: every address the CLI prints, in the
// short form the user types ("any:5000", "loopback:1234"), through one
// formatter.
import type { Socket } from '../index.js';
import { resolveAddress, type AddressPurpose, type HvSocketAddress } from '../address/address.js';
import { formatAddress } from '../address/names.js';
import { parseAddress, type ParsedAddress } from '../address/text.js';
import { ERR_WSL_ON_LINUX } from '../net/wsl-listener.js';
import { addressError } from './messages.js';

/**
 * The address a user typed, parsed, and mapped onto this OS as `purpose`
 * would (a wildcard cannot be connected to, a CID has no meaning on
 * Windows…): a UsageError about the text when it is wrong here. `wsl:` is
 * left to the command (looked up, or followed), except on Linux, where it
 * cannot mean anything.
 */
export function readAddress(text: string, purpose: AddressPurpose, command: string, platform: NodeJS.Platform = process.platform): ParsedAddress {
  try {
    const parsed = parseAddress(text, 'address');
    if (parsed.wsl === true) {
      if (platform === 'linux') throw ERR_WSL_ON_LINUX('address', 'wsl');
    } else if (platform === 'linux' || platform === 'win32') {
      resolveAddress(parsed, purpose, platform, 'address');
    }
    return parsed;
  } catch (error) {
    throw addressError(error, text, command);
  }
}

/** The short form of a typed address, e.g. "any:5000"; "?" when there is none. */
export function addressText(address: Partial<HvSocketAddress> | null | undefined): string {
  return (address && formatAddress(address)) || '?';
}

/** For --json: the address's fields as the API gives them, and its short form as `text`. */
export function addressJson(address: HvSocketAddress | null | undefined): (HvSocketAddress & { text: string }) | null {
  return address ? { ...address, text: addressText(address) } : null;
}

/** The peer in the short form: "loopback:1234". */
export function peerText(socket: Socket): string {
  return addressText(socket.remoteHvAddress);
}

/** A Linux CID as addresses write its machine: "loopback" (1), "parent" (2), "any", else the number. */
export function cidText(cid: number): string {
  try {
    return resolveAddress({ cid, port: 0 }, 'listen', 'linux').address.address;
  } catch {
    return String(cid);
  }
}
