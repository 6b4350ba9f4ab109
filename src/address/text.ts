// One short text form for an address, the same on Linux and Windows, for
// command lines and configuration: "[machine:]service".
//   machine: a CID (3), a VM GUID, or a name: loopback, parent (alias host),
//            any (alias wildcard), children, silohost, or wsl (WSL 2's VM,
//            whose ID is looked up when used: { wsl: true })
//   service: a port (5000, 0x1388) or a service GUID
// Examples: "parent:5000", "loopback:<guid>", "<vm-guid>:<service-guid>",
// "2:5000", "wsl:5000", "5000". The result is an AddressInput, which
// resolveAddress then maps onto the running OS (or refuses, saying why).
import type { AddressInput } from './address.js';
import { MACHINE_NAMES, WSL_MACHINE_NAME } from './names.js';
import { ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE } from '../errors/errors.js';
import { isGuid, normalizeGuid } from './guid.js';

export { MACHINE_NAMES, WSL_MACHINE_NAME };

/** What parseAddress returns: an address, or one whose machine is WSL's VM (for listen, or to look up). */
export type ParsedAddress = AddressInput & { wsl?: true };

const DECIMAL = /^\d+$/;
const HEX = /^0x[0-9a-f]+$/i;

function uint32(text: string): number | undefined {
  if (!DECIMAL.test(text) && !HEX.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) && value <= 0xffffffff ? value : undefined;
}

/** Parses "[machine:]service"; throws ERR_INVALID_ARG_VALUE naming what is wrong. */
export function parseAddress(text: unknown, name = 'address'): ParsedAddress {
  if (typeof text !== 'string') throw ERR_INVALID_ARG_TYPE(name, 'string', text);
  const parts = text.trim().split(':');
  if (parts.length > 2 || parts.some((p) => p === '')) {
    throw ERR_INVALID_ARG_VALUE(name, text, 'must be [machine:]service, e.g. parent:5000 or <vm-guid>:<service-guid>');
  }
  const service = parts.pop() as string;
  const machine = parts.pop();
  const address: ParsedAddress = {};

  const port = uint32(service);
  if (port !== undefined) address.port = port;
  else if (isGuid(service)) address.serviceId = normalizeGuid(service);
  else throw ERR_INVALID_ARG_VALUE(name, text, `has service "${service}", which is neither a port (0 to 0xFFFFFFFF) nor a GUID`);

  if (machine === undefined) return address;
  const cid = uint32(machine);
  const named = MACHINE_NAMES[machine.toLowerCase()];
  if (cid !== undefined) address.cid = cid;
  else if (named !== undefined) address.vmId = named;
  else if (machine.toLowerCase() === WSL_MACHINE_NAME) address.wsl = true;
  else if (isGuid(machine)) address.vmId = normalizeGuid(machine);
  else {
    throw ERR_INVALID_ARG_VALUE(
      name,
      text,
      `has machine "${machine}", which is neither a CID, a VM GUID nor one of ${[...Object.keys(MACHINE_NAMES), WSL_MACHINE_NAME].join(', ')}`,
    );
  }
  return address;
}
