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
import { isIP } from 'node:net';
import { MACHINE_NAMES, parseMachine, parseUint32Text, WSL_MACHINE_NAME } from './names.js';
import { ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE } from '../errors/errors.js';
import { isGuid, normalizeGuid } from './guid.js';

export { MACHINE_NAMES, WSL_MACHINE_NAME };

/** What parseAddress returns: an address, or one whose machine is WSL's VM (for listen, or to look up). */
export type ParsedAddress = AddressInput & { wsl?: true };

/** Parses "[machine:]service"; throws ERR_INVALID_ARG_VALUE naming what is wrong and what to write instead. */
export function parseAddress(text: unknown, name = 'address'): ParsedAddress {
  if (typeof text !== 'string') throw ERR_INVALID_ARG_TYPE(name, 'string', text);
  const trimmed = text.trim();
  const colon = trimmed.lastIndexOf(':');
  const machine = colon === -1 ? undefined : trimmed.slice(0, colon);
  const service = trimmed.slice(colon + 1);
  if (service === '' || machine === '' || (machine !== undefined && machine.includes(':') && isIP(unbracket(machine)) === 0)) {
    throw ERR_INVALID_ARG_VALUE(name, text, 'must be [machine:]service, e.g. parent:5000 or <vm-guid>:<service-guid>');
  }
  const address: ParsedAddress = {};
  const port = parseUint32Text(service);
  if (port !== undefined) address.port = port;
  else if (isGuid(service)) address.serviceId = normalizeGuid(service);
  else throw ERR_INVALID_ARG_VALUE(name, text, `has service "${service}", which is neither a port (0 to 0xFFFFFFFF) nor a GUID`);
  if (machine === undefined) return address;
  return { ...address, ...parseMachine(unbracket(machine), name, text) };
}

/** "[::1]" → "::1", so that an IPv6 address is recognised (and refused with the reason). */
function unbracket(machine: string): string {
  return machine.startsWith('[') && machine.endsWith(']') ? machine.slice(1, -1) : machine;
}
