// The names of the short address form ("[machine:]service"), both ways: the
// machine names a user may write, and the text an address prints as. One
// table, so that what hvsock prints is always something it reads back.
import {
  HV_GUID_CHILDREN,
  HV_GUID_LOOPBACK,
  HV_GUID_PARENT,
  HV_GUID_SILOHOST,
  HV_GUID_WILDCARD,
  VMADDR_CID_ANY,
  VMADDR_CID_HOST,
  VMADDR_CID_LOCAL,
} from './constants.js';
import { isIP } from 'node:net';
import { ERR_INVALID_ARG_VALUE } from '../errors/errors.js';
import { isGuid, isTemplateServiceId, normalizeGuid, portFromServiceId } from './guid.js';

/** Machine names accepted before the colon, and the VM ID each stands for. */
export const MACHINE_NAMES: Readonly<Record<string, string>> = Object.freeze({
  loopback: HV_GUID_LOOPBACK,
  parent: HV_GUID_PARENT,
  host: HV_GUID_PARENT,
  any: HV_GUID_WILDCARD,
  wildcard: HV_GUID_WILDCARD,
  children: HV_GUID_CHILDREN,
  silohost: HV_GUID_SILOHOST,
});

/** The machine name for WSL 2's VM: not a fixed ID, so it parses to { wsl: true }. */
export const WSL_MACHINE_NAME = 'wsl';

/** The name each well-known VM ID prints as (the first of its aliases). */
const NAME_OF_VMID = new Map<string, string>();
for (const [name, vmId] of Object.entries(MACHINE_NAMES)) if (!NAME_OF_VMID.has(vmId)) NAME_OF_VMID.set(vmId, name);
/** The CIDs that are those machines on Linux, by the same names. */
const NAME_OF_CID = new Map<number, string>([
  [VMADDR_CID_LOCAL, 'loopback'],
  [VMADDR_CID_HOST, 'parent'],
  [VMADDR_CID_ANY, 'any'],
]);

/** The parts an address prints from. */
export interface AddressParts {
  cid?: number | undefined;
  port?: number | undefined;
  vmId?: string | undefined;
  serviceId?: string | undefined;
}

/**
 * The machine part as the short form writes it: a name where the machine has
 * one (loopback, parent, any, children, silohost), else the CID on Linux or
 * the VM GUID on Windows. '' when the parts name no machine.
 */
export function formatMachine(parts: AddressParts): string {
  const named = parts.vmId !== undefined ? NAME_OF_VMID.get(parts.vmId) : parts.cid !== undefined ? NAME_OF_CID.get(parts.cid) : undefined;
  if (named !== undefined) return named;
  if (parts.cid !== undefined) return String(parts.cid);
  return parts.vmId ?? '';
}

/** The service part: the port where the service has one, else the service GUID. */
export function formatService(parts: AddressParts): string {
  if (parts.port !== undefined) return String(parts.port);
  if (parts.serviceId !== undefined && isTemplateServiceId(parts.serviceId)) return String(portFromServiceId(parts.serviceId));
  return parts.serviceId ?? '';
}

/** "machine:service", e.g. "parent:5000", "loopback:1024", "<vm-guid>:<service-guid>"; '' for no address. */
export function formatAddress(parts: AddressParts): string {
  const machine = formatMachine(parts);
  const service = formatService(parts);
  if (service === '') return machine;
  return machine === '' ? service : `${machine}:${service}`;
}

/** A machine as the short form names it: a CID, a VM ID, or WSL 2's VM (looked up when used). */
export type ParsedMachine = { cid: number } | { vmId: string } | { wsl: true };

const DECIMAL = /^\d+$/;
const HEX = /^0x[0-9a-f]+$/i;

/** A port or CID as text: decimal or 0x hex, 0 to 0xFFFFFFFF; undefined otherwise. */
export function parseUint32Text(text: string): number | undefined {
  if (!DECIMAL.test(text) && !HEX.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) && value <= 0xffffffff ? value : undefined;
}

/** What to write instead of something that is not a machine. */
function notAMachine(machine: string): string {
  const names = [...Object.keys(MACHINE_NAMES), WSL_MACHINE_NAME].join(', ');
  const instead = `write the machine as a CID, a VM GUID or one of ${names} (the host is parent)`;
  if (isIP(machine) !== 0) return `is an IP address, but Hyper-V sockets reach machines by CID or VM ID, not by IP: ${instead}`;
  if (machine.toLowerCase() === 'localhost') return `is a host name: for this machine write loopback; otherwise ${instead}`;
  if (/^[a-z0-9-]+(\.[a-z0-9-]+)+$/i.test(machine)) return `is a host name, but Hyper-V sockets have no name resolution: ${instead}`;
  return `is not a machine: ${instead}`;
}

/**
 * Reads the machine part of the short form: a CID (3, 0x3), a VM GUID, or a
 * name. Throws ERR_INVALID_ARG_VALUE saying what to write instead; `value`
 * is what the message shows as received (the whole address, when the machine
 * came from one).
 */
export function parseMachine(machine: string, name: string, value: unknown = machine): ParsedMachine {
  const cid = parseUint32Text(machine);
  if (cid !== undefined) return { cid };
  const lower = machine.toLowerCase();
  const named = MACHINE_NAMES[lower];
  if (named !== undefined) return { vmId: named };
  if (lower === WSL_MACHINE_NAME) return { wsl: true };
  if (isGuid(machine)) return { vmId: normalizeGuid(machine) };
  const reason = notAMachine(machine);
  throw ERR_INVALID_ARG_VALUE(name, value, value === machine ? reason : `has machine "${machine}", which ${reason}`);
}
