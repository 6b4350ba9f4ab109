// What differs between the OS socket layers, kept to data and small pure
// functions so that Socket and Server never branch on the platform.
import { getSystemErrorMap } from 'node:util';
import { currentPlatform, type AddressPlatform } from './address.js';
import {
  AF_HYPERV,
  AF_VSOCK,
  HV_PROTOCOL_RAW,
  HVSOCKET_CONNECT_TIMEOUT,
  HVSOCKET_CONNECT_TIMEOUT_MAX,
  SO_VM_SOCKETS_CONNECT_TIMEOUT,
} from './constants.js';
import { systemError } from './errors.js';

export interface SocketOption {
  level: number;
  name: number;
  value: Buffer;
}

export interface SocketPlatform {
  readonly name: AddressPlatform;
  readonly family: number;
  readonly protocol: number;
  /** Longest connect timeout the OS option takes, in ms. */
  readonly maxConnectTimeout: number;
  /** The OS's own connect timeout, so the kernel gives up, not just us. */
  connectTimeoutOption(ms: number): SocketOption;
  /** Maps an OS-specific connect failure onto node:net's meaning. */
  connectError(errno: number): number;
}

let errnoByName: Map<string, number> | undefined;

/** libuv error number for a code name; libuv numbers differ between OSes. */
export function uvErrno(code: string): number {
  errnoByName ??= new Map([...getSystemErrorMap()].map(([errno, [name]]) => [name, errno]));
  const errno = errnoByName.get(code);
  if (errno === undefined) throw new Error(`libuv has no error named ${code}`);
  return errno;
}

const linux: SocketPlatform = {
  name: 'linux',
  family: AF_VSOCK,
  protocol: 0,
  maxConnectTimeout: 2 ** 31 - 1,
  connectTimeoutOption(ms) {
    // struct timeval on 64-bit Linux: two longs.
    const value = Buffer.alloc(16);
    value.writeBigInt64LE(BigInt(Math.floor(ms / 1000)), 0);
    value.writeBigInt64LE(BigInt((ms % 1000) * 1000), 8);
    return { level: AF_VSOCK, name: SO_VM_SOCKETS_CONNECT_TIMEOUT, value };
  },
  connectError(errno) {
    // vsock answers a connect to a port nobody listens on with a reset;
    // every other stack (and Hyper-V) calls that a refusal.
    return errno === uvErrno('ECONNRESET') ? uvErrno('ECONNREFUSED') : errno;
  },
};

const win32: SocketPlatform = {
  name: 'win32',
  family: AF_HYPERV,
  protocol: HV_PROTOCOL_RAW,
  maxConnectTimeout: HVSOCKET_CONNECT_TIMEOUT_MAX,
  connectTimeoutOption(ms) {
    const value = Buffer.alloc(4);
    value.writeUInt32LE(ms, 0);
    return { level: HV_PROTOCOL_RAW, name: HVSOCKET_CONNECT_TIMEOUT, value };
  },
  connectError(errno) {
    return errno;
  },
};

/** The running OS's socket layer, or an EAFNOSUPPORT error where there is none. */
export function hostPlatform(syscall: string): SocketPlatform {
  const name = currentPlatform();
  if (name === 'linux') return linux;
  if (name === 'win32') return win32;
  throw systemError(uvErrno('EAFNOSUPPORT'), syscall, undefined,
    `Hyper-V sockets are available on Windows and Linux, not on ${process.platform}`);
}

export function platformFor(name: AddressPlatform): SocketPlatform {
  return name === 'win32' ? win32 : linux;
}
