// Reading the hypervisor socket options back with getsockopt(), in the
// encoding each OS uses for them (the writing side is platform.ts). The
// self-test and the real-AF_HYPERV suite use this to show that an option
// reached the socket, not only that setsockopt() returned 0.
import type { AddressPlatform } from '../address/address.js';
import {
  AF_VSOCK,
  HV_PROTOCOL_RAW,
  HVSOCKET_CONNECT_TIMEOUT,
  HVSOCKET_CONNECTED_SUSPEND,
  HVSOCKET_CONTAINER_PASSTHRU,
  HVSOCKET_HIGH_VTL,
  SO_VM_SOCKETS_CONNECT_TIMEOUT,
} from '../address/constants.js';
import type { NativeHandle } from '../transport/native.js';
import { decodeTimeval, longSizeOf, uvErrno } from '../transport/platform.js';

/** One option as getsockopt() takes it, and how to read its bytes. */
export interface OptionReader {
  level: number;
  name: number;
  /** Bytes getsockopt() is given room for. */
  length: number;
  /** The value, or undefined when the OS returned too few bytes for it. */
  decode(value: Buffer): number | undefined;
}

/**
 * A ULONG, as Windows' Hyper-V options are documented; a provider that
 * answers with fewer bytes (a BOOL-sized flag) is read as what it returned.
 */
const ulong = (level: number, name: number): OptionReader => ({
  level,
  name,
  length: 4,
  decode: (value) => (value.length === 0 ? undefined : value.readUIntLE(0, Math.min(value.length, 4))),
});

/**
 * The connect timeout in milliseconds: on Linux a struct timeval of two C
 * longs of this process (4 or 8 bytes each, as platform.ts writes it:
 * encodeTimeval()), a ULONG of ms on Windows.
 */
export function connectTimeoutReader(platform: AddressPlatform, longBytes: 4 | 8 = longSizeOf(process.arch)): OptionReader {
  if (platform === 'win32') return ulong(HV_PROTOCOL_RAW, HVSOCKET_CONNECT_TIMEOUT);
  return {
    level: AF_VSOCK,
    name: SO_VM_SOCKETS_CONNECT_TIMEOUT,
    length: 2 * longBytes,
    decode: (value) => decodeTimeval(value, longBytes),
  };
}

/** The Windows Hyper-V flags, by the option name connect() and listen() take. */
export const HYPERV_FLAG_READERS = {
  connectedSuspend: ulong(HV_PROTOCOL_RAW, HVSOCKET_CONNECTED_SUSPEND),
  containerPassthru: ulong(HV_PROTOCOL_RAW, HVSOCKET_CONTAINER_PASSTHRU),
  highVtl: ulong(HV_PROTOCOL_RAW, HVSOCKET_HIGH_VTL),
} as const satisfies Record<string, OptionReader>;

/** The option's value, or the negative error getsockopt() returned. */
export function readOption(handle: NativeHandle, reader: OptionReader): { value: number } | { errno: number } {
  const raw = handle.getsockopt(reader.level, reader.name, reader.length);
  if (typeof raw === 'number') return { errno: raw };
  const value = reader.decode(raw);
  // Fewer bytes than the option's type: not a value we can read.
  return value === undefined ? { errno: uvErrno('EINVAL') } : { value };
}
