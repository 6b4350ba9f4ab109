// What differs between the OS socket layers, kept to data and small pure
// functions so that Socket and Server never branch on the platform.
import {
  currentPlatform,
  decodeSockaddr,
  resolveAddress,
  type AddressPurpose,
  type HvSocketAddress,
  type ResolvedAddress,
} from '../address/address.js';
import {
  AF_HYPERV,
  AF_VSOCK,
  HV_PROTOCOL_RAW,
  HVSOCKET_CONNECT_TIMEOUT,
  HVSOCKET_CONNECT_TIMEOUT_MAX,
  HVSOCKET_CONNECTED_SUSPEND,
  HVSOCKET_CONTAINER_PASSTHRU,
  HVSOCKET_HIGH_VTL,
  SO_VM_SOCKETS_CONNECT_TIMEOUT,
} from '../address/constants.js';
import { ERR_INVALID_ARG_VALUE, systemError, uvErrno } from '../errors/errors.js';

export { uvErrno };
import type { NativeHandle } from './native.js';

/**
 * Windows Hyper-V socket options (HVSOCKET_* at level HV_PROTOCOL_RAW), set
 * on the socket before it binds or connects. Linux vsock has none of them:
 * `true` there is an ERR_INVALID_ARG_VALUE, `false` is accepted.
 */
export interface HyperVSocketOptions {
  /**
   * HVSOCKET_CONNECTED_SUSPEND: keep the connection when the VM is suspended
   * (paused or saved) instead of resetting it. On a server, applied to the
   * listener and to every socket it accepts.
   */
  connectedSuspend?: boolean;
  /** HVSOCKET_CONTAINER_PASSTHRU: let a container's socket reach past the container to its host. */
  containerPassthru?: boolean;
  /** HVSOCKET_HIGH_VTL: talk to the partition's higher virtual trust level (VTL 1, e.g. VBS). */
  highVtl?: boolean;
}

/**
 * Replaces the OS's hypervisor socket layer for a Socket or Server; not
 * public API. Tests use it to drive the same engine over loopback TCP where
 * no hypervisor transport exists (Wine, a bare Linux machine).
 */
export const kTransport = Symbol('hvsock.transport');

export interface SocketOption {
  level: number;
  name: number;
  value: Buffer;
}

/** The options a platform turns into socket options: connect timeout and Hyper-V flags. */
export interface PlatformSocketOptions extends HyperVSocketOptions {
  /** The connect timeout in ms, set as the OS option where there is one. */
  connectTimeout?: number;
}

export interface SocketPlatform {
  readonly name: string;
  readonly family: number;
  readonly protocol: number;
  /** Longest connect timeout the OS option takes, in ms. */
  readonly maxConnectTimeout: number;
  /** Maps a user's address onto this platform's sockaddr, or throws saying why it cannot. */
  resolve(input: unknown, purpose: AddressPurpose): ResolvedAddress;
  /** Reads a sockaddr the OS returned. */
  decode(sockaddr: Uint8Array): HvSocketAddress;
  /**
   * Socket options to set on a new socket before bind or connect, or throws
   * (ERR_INVALID_ARG_VALUE) for an option the platform does not have.
   */
  socketOptions(options: PlatformSocketOptions): SocketOption[];
  /** Options a listener applies to each socket it accepts. */
  acceptedSocketOptions(options: PlatformSocketOptions): SocketOption[];
  /** Maps an OS-specific connect failure onto node:net's meaning. */
  connectError(errno: number): number;
}

/** Sets each option on a socket; returns 0 or the first negative error. */
export function applySocketOptions(handle: NativeHandle, options: readonly SocketOption[]): number {
  for (const { level, name, value } of options) {
    const err = handle.setsockopt(level, name, value);
    if (err < 0) return err;
  }
  return 0;
}

/** The Hyper-V flags, by option name; each is a ULONG boolean at level HV_PROTOCOL_RAW. */
const HYPERV_FLAGS = [
  ['connectedSuspend', HVSOCKET_CONNECTED_SUSPEND],
  ['containerPassthru', HVSOCKET_CONTAINER_PASSTHRU],
  ['highVtl', HVSOCKET_HIGH_VTL],
] as const;

function ulong(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32LE(value, 0);
  return out;
}

const linux: SocketPlatform = {
  name: 'linux',
  family: AF_VSOCK,
  protocol: 0,
  maxConnectTimeout: 2 ** 31 - 1,
  resolve: (input, purpose) => resolveAddress(input, purpose, 'linux'),
  decode: decodeSockaddr,
  socketOptions(options) {
    for (const [name] of HYPERV_FLAGS) {
      if (options[name] === true) {
        throw ERR_INVALID_ARG_VALUE(`options.${name}`, true, 'is a Windows Hyper-V socket option; Linux vsock has none');
      }
    }
    if (options.connectTimeout === undefined) return [];
    // struct timeval on 64-bit Linux: two longs.
    const ms = options.connectTimeout;
    const value = Buffer.alloc(16);
    value.writeBigInt64LE(BigInt(Math.floor(ms / 1000)), 0);
    value.writeBigInt64LE(BigInt((ms % 1000) * 1000), 8);
    return [{ level: AF_VSOCK, name: SO_VM_SOCKETS_CONNECT_TIMEOUT, value }];
  },
  acceptedSocketOptions: () => [],
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
  resolve: (input, purpose) => resolveAddress(input, purpose, 'win32'),
  decode: decodeSockaddr,
  socketOptions(options) {
    const out: SocketOption[] = HYPERV_FLAGS.filter(([name]) => options[name] === true).map(([, flag]) => ({
      level: HV_PROTOCOL_RAW,
      name: flag,
      value: ulong(1),
    }));
    if (options.connectTimeout !== undefined) {
      out.push({ level: HV_PROTOCOL_RAW, name: HVSOCKET_CONNECT_TIMEOUT, value: ulong(options.connectTimeout) });
    }
    return out;
  },
  acceptedSocketOptions(options) {
    // As WSL does for its accept sockets: a connection is kept across a
    // suspend only if its own socket says so.
    return options.connectedSuspend === true
      ? [{ level: HV_PROTOCOL_RAW, name: HVSOCKET_CONNECTED_SUSPEND, value: ulong(1) }]
      : [];
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
  throw systemError(uvErrno('EAFNOSUPPORT'), syscall, { hint: `Hyper-V sockets are available on Windows and Linux, not on ${process.platform}` });
}

export function platformFor(name: 'linux' | 'win32'): SocketPlatform {
  return name === 'win32' ? win32 : linux;
}
