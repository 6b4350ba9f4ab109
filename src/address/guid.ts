// GUIDs as Hyper-V uses them: text in, lowercase text out, and the Windows
// wire form (Data1 u32, Data2 u16, Data3 u16 little-endian, then 8 bytes as
// written) for SOCKADDR_HV.
import { HV_GUID_VSOCK_TEMPLATE } from './constants.js';
import { ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE, ERR_OUT_OF_RANGE } from '../errors/errors.js';

const GUID = /^\{?([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})\}?$/i;
/** Template service GUIDs carry a port in Data1; Linux vsock ports stop at 0x7FFFFFFF there. */
const MAX_TEMPLATE_PORT = 0x7fffffff;
const TEMPLATE_TAIL = HV_GUID_VSOCK_TEMPLATE.slice(8);

/** Whether `value` is a GUID in text form (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, optionally in braces). */
export function isGuid(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const match = GUID.exec(value);
  // Braces come in pairs or not at all.
  return match !== null && value.startsWith('{') === value.endsWith('}');
}

/** Lowercase, without braces. */
export function normalizeGuid(value: string, name = 'guid'): string {
  if (typeof value !== 'string') throw ERR_INVALID_ARG_TYPE(name, 'string', value);
  if (!isGuid(value)) throw ERR_INVALID_ARG_VALUE(name, value, 'must be a GUID like 00000000-0000-0000-0000-000000000000');
  return value.replace(/[{}]/g, '').toLowerCase();
}

/** A GUID's 16 bytes in Windows' wire form (Data1-3 little-endian), as SOCKADDR_HV holds it. */
export function parseGuid(value: string, name = 'guid'): Buffer {
  const hex = normalizeGuid(value, name).replace(/-/g, '');
  const out = Buffer.alloc(16);
  out.writeUInt32LE(parseInt(hex.slice(0, 8), 16), 0);
  out.writeUInt16LE(parseInt(hex.slice(8, 12), 16), 4);
  out.writeUInt16LE(parseInt(hex.slice(12, 16), 16), 6);
  Buffer.from(hex.slice(16), 'hex').copy(out, 8);
  return out;
}

/** The GUID in text (lowercase) from 16 bytes of Windows' wire form at `offset`: parseGuid() reversed. */
export function formatGuid(bytes: Uint8Array, offset = 0): string {
  if (!(bytes instanceof Uint8Array)) throw ERR_INVALID_ARG_TYPE('bytes', ['Buffer', 'Uint8Array'], bytes);
  if (!Number.isInteger(offset) || offset < 0 || offset + 16 > bytes.length) {
    throw ERR_OUT_OF_RANGE('offset', `>= 0 && <= ${bytes.length - 16}`, offset);
  }
  const b = Buffer.from(bytes.buffer, bytes.byteOffset + offset, 16);
  const data1 = b.readUInt32LE(0).toString(16).padStart(8, '0');
  const data2 = b.readUInt16LE(4).toString(16).padStart(4, '0');
  const data3 = b.readUInt16LE(6).toString(16).padStart(4, '0');
  const data4 = b.subarray(8, 16).toString('hex');
  return `${data1}-${data2}-${data3}-${data4.slice(0, 4)}-${data4.slice(4)}`;
}

/** The service GUID a Linux guest reaches as vsock port `port`. */
export function serviceIdFromPort(port: number): string {
  if (typeof port !== 'number') throw ERR_INVALID_ARG_TYPE('port', 'number', port);
  if (!Number.isInteger(port) || port < 0 || port > MAX_TEMPLATE_PORT) {
    throw ERR_OUT_OF_RANGE('port', `>= 0 && <= ${MAX_TEMPLATE_PORT}`, port);
  }
  return port.toString(16).padStart(8, '0') + TEMPLATE_TAIL;
}

/** Whether `value` is a vsock template service GUID (`XXXXXXXX-facb-11e6-bd58-64006a7986d3`), which stands for a port. */
export function isTemplateServiceId(value: string): boolean {
  if (!isGuid(value)) return false;
  const guid = value.replace(/[{}]/g, '').toLowerCase();
  return guid.endsWith(TEMPLATE_TAIL) && parseInt(guid.slice(0, 8), 16) <= MAX_TEMPLATE_PORT;
}

/** The vsock port a template service GUID stands for. */
export function portFromServiceId(serviceId: string): number {
  const guid = normalizeGuid(serviceId, 'serviceId');
  if (!isTemplateServiceId(guid)) {
    throw ERR_INVALID_ARG_VALUE(
      'serviceId',
      serviceId,
      `is not a vsock template service GUID (XXXXXXXX${TEMPLATE_TAIL} with XXXXXXXX <= 7fffffff)`,
    );
  }
  return parseInt(guid.slice(0, 8), 16);
}
