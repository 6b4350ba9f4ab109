// The names of the short address form ("[machine:]service"), both ways: the
// machine names a user may write, and the text an address prints as. One
// table, so that what hvsock prints is always something it reads back.
import {
  HV_GUID_CHILDREN,
  HV_GUID_LOOPBACK,
  HV_GUID_PARENT,
  HV_GUID_SILOHOST,
  HV_GUID_WILDCARD,
} from './constants.js';

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
  const named = parts.vmId === undefined ? undefined : NAME_OF_VMID.get(parts.vmId);
  if (named !== undefined) return named;
  if (parts.cid !== undefined) return String(parts.cid);
  return parts.vmId ?? '';
}

/** The service part: the port where the service has one, else the service GUID. */
export function formatService(parts: AddressParts): string {
  if (parts.port !== undefined) return String(parts.port);
  return parts.serviceId ?? '';
}

/** "machine:service", e.g. "parent:5000", "loopback:1024", "<vm-guid>:<service-guid>"; '' for no address. */
export function formatAddress(parts: AddressParts): string {
  const machine = formatMachine(parts);
  const service = formatService(parts);
  if (service === '') return machine;
  return machine === '' ? service : `${machine}:${service}`;
}
