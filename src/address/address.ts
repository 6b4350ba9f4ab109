// The portable address model. A Hyper-V socket address has a machine part
// (a Linux CID or a Windows VM GUID) and a service part (a vsock port or a
// service GUID). Users may write either form of each part; this module maps
// them onto what the running OS's socket takes, and refuses — with the
// reason — any form that has no meaning there.
import {
  AF_HYPERV,
  AF_VSOCK,
  HV_GUID_BROADCAST,
  HV_GUID_CHILDREN,
  HV_GUID_LOOPBACK,
  HV_GUID_PARENT,
  HV_GUID_WILDCARD,
  VMADDR_CID_ANY,
  VMADDR_CID_HOST,
  VMADDR_CID_LOCAL,
  VMADDR_FLAG_TO_HOST,
  VMADDR_PORT_ANY,
} from './constants.js';
import { ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE, ERR_OUT_OF_RANGE, type ErrorAddressFields, type SystemErrorDetails } from '../errors/errors.js';
import { formatAddress, formatMachine, parseMachine } from './names.js';
import { formatGuid, isTemplateServiceId, normalizeGuid, parseGuid, portFromServiceId, serviceIdFromPort } from './guid.js';
import { validateBoolean, validateObject, validateUint32 } from '../errors/validate.js';

/** The OS an address is resolved for: Linux (AF_VSOCK) or Windows (AF_HYPERV). */
export type AddressPlatform = 'linux' | 'win32';
/** What an address is resolved for: binding a listener or connecting. */
export type AddressPurpose = 'listen' | 'connect';

/**
 * What users pass: a machine part (cid, vmId or host) and a service part
 * (port or serviceId).
 */
export interface AddressInput {
  /**
   * The machine as the short form writes it, as node:net's `host`: `parent`
   * (the host), `loopback`, `any`, `children`, `silohost`, a CID (`'3'`) or a
   * VM GUID. An IP address or DNS name is refused, saying what to write.
   */
  host?: string;
  cid?: number;
  port?: number;
  vmId?: string;
  serviceId?: string;
  /** Linux only: set VMADDR_FLAG_TO_HOST, so a nested guest's connect goes up to its host. */
  toHost?: boolean;
}

/** What address() and remoteAddress give back: every form with a meaning is filled in. */
export interface HvSocketAddress {
  family: 'AF_VSOCK' | 'AF_HYPERV';
  /**
   * The machine as the short form writes it, as node:net's `address` is the
   * host: `loopback`, `parent`, `any`, `children`, `silohost` where the
   * machine has a name, else the CID (Linux) or the VM GUID (Windows).
   */
  address: string;
  cid?: number;
  port?: number;
  vmId?: string;
  serviceId?: string;
}

/** An address ready for the OS: its family, the sockaddr bytes, and the address in every form. */
export interface ResolvedAddress {
  /** AF_VSOCK or AF_HYPERV. */
  family: number;
  /** sockaddr_vm or SOCKADDR_HV bytes for bind()/connect(). */
  sockaddr: Buffer;
  address: HvSocketAddress;
}

const SOCKADDR_VM_SIZE = 16;
const SOCKADDR_HV_SIZE = 36;
const MAX_TEMPLATE_PORT = 0x7fffffff;

/** Machines that exist in both worlds. */
const CID_TO_VMID = new Map<number, string>([
  [VMADDR_CID_LOCAL, HV_GUID_LOOPBACK],
  [VMADDR_CID_HOST, HV_GUID_PARENT],
  [VMADDR_CID_ANY, HV_GUID_WILDCARD],
]);
const VMID_TO_CID = new Map<string, number>([...CID_TO_VMID].map(([cid, vmId]) => [vmId, cid]));
/** VM IDs that only make sense to listen on. */
const LISTEN_ONLY_VMIDS = new Set([HV_GUID_WILDCARD, HV_GUID_CHILDREN]);

export function currentPlatform(): AddressPlatform | undefined {
  if (process.platform === 'linux') return 'linux';
  if (process.platform === 'win32') return 'win32';
  return undefined;
}

interface Parts {
  cid?: number;
  vmId?: string;
  port?: number;
  serviceId?: string;
  toHost: boolean;
}

function readParts(input: unknown, name: string): Parts {
  validateObject(input, name);
  // { wsl: true } is looked up and followed by Server.listen only; anywhere
  // else it would silently fall back to the default machine.
  const { wsl } = input as { wsl?: unknown };
  if (wsl !== undefined && wsl !== false) {
    throw ERR_INVALID_ARG_VALUE(
      `${name}.wsl`,
      wsl,
      'is understood by Server.listen() only; to connect, look the VM up first: { vmId: await getWslVmId(), port }',
    );
  }
  const { port, serviceId, toHost } = input as AddressInput;
  const { cid, vmId } = machineOf(input as AddressInput, name);
  if (port === undefined && serviceId === undefined) {
    throw ERR_INVALID_ARG_VALUE(name, input, 'must name a service: port or serviceId');
  }
  if (cid !== undefined) validateUint32(cid, `${name}.cid`);
  if (port !== undefined) validateUint32(port, `${name}.port`);
  if (toHost !== undefined) validateBoolean(toHost, `${name}.toHost`);
  const parts: Parts = { toHost: toHost ?? false };
  if (cid !== undefined) parts.cid = cid;
  if (port !== undefined) parts.port = port;
  if (vmId !== undefined) parts.vmId = normalizeGuid(vmId, `${name}.vmId`);
  if (serviceId !== undefined) parts.serviceId = normalizeGuid(serviceId, `${name}.serviceId`);
  // An address as address() and remoteHvAddress give it names each part in
  // every form it has (cid and vmId, port and serviceId), so that
  // connect(server.address()) works: two forms are one part when they agree.
  if (parts.cid !== undefined && parts.vmId !== undefined && CID_TO_VMID.get(parts.cid) !== parts.vmId) {
    throw ERR_INVALID_ARG_VALUE(name, input, 'must name the machine once: host, cid or vmId (cid and vmId together only when they are the same machine)');
  }
  if (parts.port !== undefined && parts.serviceId !== undefined) {
    const same = parts.port <= MAX_TEMPLATE_PORT && serviceIdFromPort(parts.port) === parts.serviceId;
    if (!same) {
      throw ERR_INVALID_ARG_VALUE(name, input, 'must name the service once: port or serviceId, not both (unless they are the same service)');
    }
  }
  return parts;
}

/**
 * The machine part: cid, vmId, or host (the short form's machine text); host
 * alone, cid and vmId alone or together (readParts checks that they agree).
 */
function machineOf(input: AddressInput, name: string): { cid?: number | undefined; vmId?: string | undefined } {
  const { cid, vmId, host } = input;
  if (host !== undefined && (cid !== undefined || vmId !== undefined)) {
    throw ERR_INVALID_ARG_VALUE(name, input, 'must name the machine once: host, cid or vmId');
  }
  if (host === undefined) return { cid, vmId };
  if (typeof host !== 'string') throw ERR_INVALID_ARG_TYPE(`${name}.host`, 'string', host);
  const machine = parseMachine(host.trim(), `${name}.host`);
  if ('wsl' in machine) {
    throw ERR_INVALID_ARG_VALUE(
      `${name}.host`,
      host,
      "is WSL 2's VM, which only Server.listen() looks up (and follows) by itself; to connect, look it up first: { vmId: await getWslVmId(), port } (hvsock/host)",
    );
  }
  return machine;
}

function linuxCid(parts: Parts, purpose: AddressPurpose, name: string): number {
  if (parts.vmId !== undefined) {
    const vmId = parts.vmId;
    if (vmId === HV_GUID_BROADCAST) {
      throw ERR_INVALID_ARG_VALUE(`${name}.vmId`, vmId, 'is HV_GUID_BROADCAST, which is not an address');
    }
    if (LISTEN_ONLY_VMIDS.has(vmId)) {
      if (purpose === 'connect') throw ERR_INVALID_ARG_VALUE(`${name}.vmId`, vmId, 'is a listen wildcard, not a connect target');
      return VMADDR_CID_ANY;
    }
    const cid = VMID_TO_CID.get(vmId);
    if (cid === undefined) {
      throw ERR_INVALID_ARG_VALUE(
        `${name}.vmId`,
        vmId,
        'names a specific VM, which has no meaning on Linux: vsock addresses machines by CID',
      );
    }
    return cid;
  }
  if (parts.cid === undefined) return purpose === 'listen' ? VMADDR_CID_ANY : VMADDR_CID_LOCAL;
  if (purpose === 'connect' && parts.cid === VMADDR_CID_ANY) {
    throw ERR_INVALID_ARG_VALUE(`${name}.cid`, parts.cid, 'is VMADDR_CID_ANY, a listen wildcard, not a connect target');
  }
  return parts.cid;
}

function linuxPort(parts: Parts, purpose: AddressPurpose, name: string): number {
  if (parts.serviceId !== undefined) {
    if (!isTemplateServiceId(parts.serviceId)) {
      throw ERR_INVALID_ARG_VALUE(
        `${name}.serviceId`,
        parts.serviceId,
        'is not a template service GUID (XXXXXXXX-facb-11e6-bd58-64006a7986d3), so it has no vsock port',
      );
    }
    return portFromServiceId(parts.serviceId);
  }
  const port = parts.port as number;
  if (purpose === 'listen') {
    // node:net's convention: port 0 lets the kernel pick a free one.
    return port === 0 ? VMADDR_PORT_ANY : port;
  }
  if (port === 0 || port === VMADDR_PORT_ANY) {
    throw ERR_INVALID_ARG_VALUE(`${name}.port`, port, 'is not a connect target');
  }
  return port;
}

function windowsVmId(parts: Parts, purpose: AddressPurpose, name: string): string {
  if (parts.cid !== undefined) {
    const vmId = CID_TO_VMID.get(parts.cid);
    if (vmId === undefined) {
      throw ERR_INVALID_ARG_VALUE(
        `${name}.cid`,
        parts.cid,
        'has no meaning on Windows: Hyper-V addresses VMs by GUID ((Get-VM -Name X).Id); only CIDs 1, 2 and VMADDR_CID_ANY map',
      );
    }
    if (purpose === 'connect' && LISTEN_ONLY_VMIDS.has(vmId)) {
      throw ERR_INVALID_ARG_VALUE(`${name}.cid`, parts.cid, 'is VMADDR_CID_ANY, a listen wildcard, not a connect target');
    }
    return vmId;
  }
  if (parts.vmId === undefined) return purpose === 'listen' ? HV_GUID_WILDCARD : HV_GUID_LOOPBACK;
  if (purpose === 'connect' && (LISTEN_ONLY_VMIDS.has(parts.vmId) || parts.vmId === HV_GUID_BROADCAST)) {
    throw ERR_INVALID_ARG_VALUE(`${name}.vmId`, parts.vmId, 'is a wildcard, not a connect target');
  }
  return parts.vmId;
}

function windowsServiceId(parts: Parts, purpose: AddressPurpose, name: string): string {
  if (parts.serviceId !== undefined) return parts.serviceId;
  const port = parts.port as number;
  if (port === 0) {
    throw ERR_INVALID_ARG_VALUE(
      `${name}.port`,
      port,
      purpose === 'listen'
        ? 'cannot pick a free service on Windows: Hyper-V sockets have no ephemeral services; choose a port or serviceId'
        : 'is not a connect target',
    );
  }
  if (port > MAX_TEMPLATE_PORT) throw ERR_OUT_OF_RANGE(`${name}.port`, `>= 1 && <= ${MAX_TEMPLATE_PORT}`, port);
  return serviceIdFromPort(port);
}

/** Maps a user's address onto the running OS's sockaddr, or throws saying why it cannot. */
export function resolveAddress(
  input: unknown,
  purpose: AddressPurpose,
  platform: AddressPlatform,
  name = 'options',
): ResolvedAddress {
  const parts = readParts(input, name);
  if (platform === 'linux') {
    if (parts.toHost && purpose === 'listen') {
      throw ERR_INVALID_ARG_VALUE(`${name}.toHost`, true, 'only applies to connect');
    }
    const cid = linuxCid(parts, purpose, name);
    const port = linuxPort(parts, purpose, name);
    return {
      family: AF_VSOCK,
      sockaddr: encodeSockaddrVm(cid, port, parts.toHost ? VMADDR_FLAG_TO_HOST : 0),
      address: describeVsock(cid, port),
    };
  }
  if (parts.toHost) {
    throw ERR_INVALID_ARG_VALUE(`${name}.toHost`, true, 'is a Linux vsock option; on Windows use vmId HV_GUID_PARENT');
  }
  const vmId = windowsVmId(parts, purpose, name);
  const serviceId = windowsServiceId(parts, purpose, name);
  return { family: AF_HYPERV, sockaddr: encodeSockaddrHv(vmId, serviceId), address: describeHv(vmId, serviceId) };
}

function describeVsock(cid: number, port: number): HvSocketAddress {
  const address: HvSocketAddress = { family: 'AF_VSOCK', address: '', cid, port };
  const vmId = CID_TO_VMID.get(cid);
  if (vmId !== undefined) address.vmId = vmId;
  if (port <= MAX_TEMPLATE_PORT) address.serviceId = serviceIdFromPort(port);
  address.address = formatMachine(address);
  return address;
}

function describeHv(vmId: string, serviceId: string): HvSocketAddress {
  const address: HvSocketAddress = { family: 'AF_HYPERV', address: '', vmId, serviceId };
  const cid = VMID_TO_CID.get(vmId);
  if (cid !== undefined) address.cid = cid;
  if (isTemplateServiceId(serviceId)) address.port = portFromServiceId(serviceId);
  address.address = formatMachine(address);
  return address;
}

/** sockaddr_vm: family u16 @0, reserved u16 @2, port u32 @4, cid u32 @8, flags u8 @12, 3 zero bytes. */
export function encodeSockaddrVm(cid: number, port: number, flags = 0): Buffer {
  validateUint32(cid, 'cid');
  validateUint32(port, 'port');
  const out = Buffer.alloc(SOCKADDR_VM_SIZE);
  out.writeUInt16LE(AF_VSOCK, 0);
  out.writeUInt32LE(port, 4);
  out.writeUInt32LE(cid, 8);
  out.writeUInt8(flags & 0xff, 12);
  return out;
}

/** The address a Linux sockaddr_vm holds, in every form that has a meaning. */
export function decodeSockaddrVm(bytes: Uint8Array): HvSocketAddress {
  const b = asBuffer(bytes);
  if (b.length < 12 || b.readUInt16LE(0) !== AF_VSOCK) {
    throw ERR_INVALID_ARG_VALUE('sockaddr', bytes, 'is not a sockaddr_vm');
  }
  return describeVsock(b.readUInt32LE(8), b.readUInt32LE(4));
}

/** SOCKADDR_HV: Family u16 @0, Reserved u16 @2, VmId @4, ServiceId @20 (GUID wire form). */
export function encodeSockaddrHv(vmId: string, serviceId: string): Buffer {
  const out = Buffer.alloc(SOCKADDR_HV_SIZE);
  out.writeUInt16LE(AF_HYPERV, 0);
  parseGuid(vmId, 'vmId').copy(out, 4);
  parseGuid(serviceId, 'serviceId').copy(out, 20);
  return out;
}

/** The address a Windows SOCKADDR_HV holds, in every form that has a meaning. */
export function decodeSockaddrHv(bytes: Uint8Array): HvSocketAddress {
  const b = asBuffer(bytes);
  if (b.length < SOCKADDR_HV_SIZE || b.readUInt16LE(0) !== AF_HYPERV) {
    throw ERR_INVALID_ARG_VALUE('sockaddr', bytes, 'is not a SOCKADDR_HV');
  }
  return describeHv(formatGuid(b, 4), formatGuid(b, 20));
}

/** Either sockaddr, told apart by its family field. */
export function decodeSockaddr(bytes: Uint8Array): HvSocketAddress {
  const b = asBuffer(bytes);
  const family = b.length >= 2 ? b.readUInt16LE(0) : -1;
  if (family === AF_VSOCK) return decodeSockaddrVm(b);
  if (family === AF_HYPERV) return decodeSockaddrHv(b);
  throw ERR_INVALID_ARG_VALUE('sockaddr', bytes, 'is neither a sockaddr_vm nor a SOCKADDR_HV');
}

/**
 * The fields a system error about this address carries, and its text for the
 * message (the short form: `connect ECONNREFUSED parent:5000`).
 */
export function errorAddress(address: Partial<HvSocketAddress> | undefined): Pick<SystemErrorDetails, 'address' | 'addressText'> {
  if (address === undefined) return {};
  const fields: ErrorAddressFields = {};
  for (const key of ['address', 'cid', 'port', 'vmId', 'serviceId'] as const) {
    if (address[key] !== undefined) (fields as Record<string, unknown>)[key] = address[key];
  }
  return { address: fields, addressText: formatAddress(address) };
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export { formatAddress };
