// What differs between the OS socket layers, kept to data and small pure
// functions so that Socket and Server never branch on the platform.
import {
  currentPlatform,
  decodeSockaddr,
  errorAddress,
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
  SO_VM_SOCKETS_BUFFER_MAX_SIZE,
  SO_VM_SOCKETS_BUFFER_SIZE,
  SO_VM_SOCKETS_CONNECT_TIMEOUT,
  VMADDR_CID_LOCAL,
} from '../address/constants.js';
import { endianness } from 'node:os';
import { getSystemErrorName } from 'node:util';
import { ERR_INVALID_ARG_VALUE, systemError, uvErrno, type HvSocketError } from '../errors/errors.js';
import { vsockLoopback, type VsockLoopbackProbe } from './vsock-loopback.js';

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
  /**
   * A hint the OS may refuse: a failure to set it is ignored (on accepted
   * sockets too: the native layer skips it), and the socket goes on without it.
   */
  optional?: boolean;
}

/** The options a platform turns into socket options: connect timeout, buffer size and Hyper-V flags. */
export interface PlatformSocketOptions extends HyperVSocketOptions {
  /** The connect timeout in ms, set as the OS option where there is one. */
  connectTimeout?: number;
  /** The socket's buffer size in bytes (connect()'s and listen()'s `bufferSize`). */
  bufferSize?: number;
}

/** Where a platform keeps the buffer size that getBufferSize() reads back. */
export interface BufferSizeOption {
  level: number;
  name: number;
  /** 8: a u64 (vsock's SO_VM_SOCKETS_BUFFER_SIZE); 4: a C int (SO_RCVBUF). */
  length: 4 | 8;
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
  /** The option that holds the socket's effective buffer size (Socket#getBufferSize()). */
  readonly bufferSizeOption: BufferSizeOption;
  /** Maps an OS-specific connect failure onto node:net's meaning. */
  connectError(errno: number): number;
  /** Maps an OS-specific write failure onto node:net's meaning (where absent, as it is). */
  writeError?(errno: number): number;
  /**
   * Before each connect attempt, with the resolved target: the error that
   * attempt must fail with without making any system call, or null to go
   * ahead. Linux refuses CID 1 where the kernel has no vsock loopback.
   */
  checkTarget?(target: HvSocketAddress | undefined): HvSocketError | null;
}

/** Sets each option on a socket; returns 0 or the first negative error of an option that is not optional. */
export function applySocketOptions(handle: NativeHandle, options: readonly SocketOption[]): number {
  for (const { level, name, value, optional } of options) {
    const err = handle.setsockopt(level, name, value);
    if (err < 0 && optional !== true) return err;
  }
  return 0;
}

/** The buffer size a socket holds (bufferSizeOption's bytes, in this process's byte order), or the negative error. */
export function readBufferSize(handle: NativeHandle, option: BufferSizeOption, littleEndian = endianness() === 'LE'): number {
  const raw = handle.getsockopt(option.level, option.name, option.length);
  if (typeof raw === 'number') return raw;
  if (raw.length < option.length) return uvErrno('EINVAL');
  if (option.length === 8) return Number(littleEndian ? raw.readBigUInt64LE(0) : raw.readBigUInt64BE(0));
  return littleEndian ? raw.readInt32LE(0) : raw.readInt32BE(0);
}

/**
 * SOL_SOCKET, SO_SNDBUF and SO_RCVBUF, which differ between OSes (and, on
 * Linux, on MIPS, whose asm/socket.h keeps the IRIX numbers Windows shares).
 */
export function socketLevelNumbers(os: 'linux' | 'win32', nodeArch: string = process.arch): { SOL_SOCKET: number; SO_SNDBUF: number; SO_RCVBUF: number } {
  if (os === 'win32' || nodeArch === 'mips' || nodeArch === 'mipsel' || nodeArch === 'mips64el') {
    return { SOL_SOCKET: 0xffff, SO_SNDBUF: 0x1001, SO_RCVBUF: 0x1002 };
  }
  return { SOL_SOCKET: 1, SO_SNDBUF: 7, SO_RCVBUF: 8 };
}

/** A C int, in this process's byte order. */
function cInt(value: number, littleEndian: boolean): Buffer {
  const out = Buffer.alloc(4);
  if (littleEndian) out.writeInt32LE(value, 0);
  else out.writeInt32BE(value, 0);
  return out;
}

/**
 * SO_SNDBUF and SO_RCVBUF, both set to `bytes`, as hints: `optional`, so a
 * provider that refuses them costs the socket nothing.
 */
export function socketBufferOptions(bytes: number, os: 'linux' | 'win32', nodeArch: string = process.arch, littleEndian = endianness() === 'LE'): SocketOption[] {
  const { SOL_SOCKET, SO_SNDBUF, SO_RCVBUF } = socketLevelNumbers(os, nodeArch);
  return [
    { level: SOL_SOCKET, name: SO_SNDBUF, value: cInt(bytes, littleEndian), optional: true },
    { level: SOL_SOCKET, name: SO_RCVBUF, value: cInt(bytes, littleEndian), optional: true },
  ];
}

/**
 * The kernel's default SO_VM_SOCKETS_BUFFER_MAX_SIZE for a new socket
 * (VSOCK_DEFAULT_BUFFER_MAX_SIZE, 256 KiB, include/net/af_vsock.h).
 */
export const VSOCK_DEFAULT_BUFFER_MAX_SIZE = 256 * 1024;

/** A u64 in this process's byte order, as vsock's buffer options take it. */
function u64(value: number, littleEndian: boolean): Buffer {
  const out = Buffer.alloc(8);
  if (littleEndian) out.writeBigUInt64LE(BigInt(value), 0);
  else out.writeBigUInt64BE(BigInt(value), 0);
  return out;
}

/**
 * `bufferSize` on Linux vsock. vsock_connectible_setsockopt()
 * (net/vmw_vsock/af_vsock.c) passes SO_VM_SOCKETS_BUFFER_SIZE to
 * vsock_update_buffer_size(), which clamps it to the socket's [MIN, MAX]
 * (128 bytes and 256 KiB on a new socket): a larger size needs
 * SO_VM_SOCKETS_BUFFER_MAX_SIZE raised first, or it is silently cut to 256
 * KiB. Both are u64s of the calling process (include/uapi/linux/vm_sockets.h).
 * A socket accept() returns starts with its listener's three values
 * (__vsock_create() copies them from the parent); setting them on it again
 * changes nothing there. The transport takes the size when it is assigned
 * at connect (virtio: buf_alloc, the credit the peer is told), so these go
 * on before connect() and listen().
 *
 * SO_SNDBUF and SO_RCVBUF go on as well, as hints: vsock's own transports
 * do not read them, but hyperv_transport.c (a Linux guest of Hyper-V,
 * hv_sock) sizes each connection's VMBus ring buffers from the connecting
 * socket's sk_sndbuf/sk_rcvbuf, or the listener's for one the host opened
 * (hvs_open_connection()), where SO_VM_SOCKETS_BUFFER_SIZE has no effect.
 */
export function vsockBufferOptions(bytes: number, nodeArch: string = process.arch, littleEndian = endianness() === 'LE'): SocketOption[] {
  const out: SocketOption[] = [];
  if (bytes > VSOCK_DEFAULT_BUFFER_MAX_SIZE) {
    out.push({ level: AF_VSOCK, name: SO_VM_SOCKETS_BUFFER_MAX_SIZE, value: u64(bytes, littleEndian) });
  }
  out.push({ level: AF_VSOCK, name: SO_VM_SOCKETS_BUFFER_SIZE, value: u64(bytes, littleEndian) });
  return [...out, ...socketBufferOptions(bytes, 'linux', nodeArch, littleEndian)];
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

/**
 * Bytes in a C `long` for a Node architecture (`process.arch`): 4 on the
 * 32-bit ABIs Node runs on, 8 on the 64-bit ones (x32, 4-byte longs on
 * x86-64, has no Node build and reports 'x64').
 */
export function longSizeOf(nodeArch: string): 4 | 8 {
  return ['arm', 'ia32', 'mips', 'mipsel', 'ppc', 's390', 'riscv32'].includes(nodeArch) ? 4 : 8;
}

/**
 * The connect timeout as SO_VM_SOCKETS_CONNECT_TIMEOUT (6, "_OLD" in today's
 * include/uapi/linux/vm_sockets.h) takes it: a `struct timeval` of two C
 * longs (seconds, microseconds) of the calling process, in its byte order.
 *
 * Why option 6 in the process's own long size, and not option 8
 * (SO_VM_SOCKETS_CONNECT_TIMEOUT_NEW, a 64-bit `__kernel_sock_timeval`):
 * option 8 only exists since "vsock: Enable y2038 safe timeval for timeout"
 * (net/vmw_vsock/af_vsock.c, Linux 5.16, late 2021); older kernels answer it
 * with ENOPROTOOPT, so it would need a fallback to option 6 anyway. Option 6
 * is read by vsock_connectible_setsockopt() (af_vsock.c) through
 * sock_copy_user_timeval() (net/core/sock.c) as `struct __kernel_old_timeval`
 * — two kernel longs — or, for a 32-bit process on a 64-bit kernel
 * (in_compat_syscall()), as `struct old_timeval32`: two 32-bit values. In both
 * cases that is two longs of the calling process, which is what this writes,
 * on every kernel version. (Before 5.16 a 32-bit process on a 64-bit kernel
 * had no working encoding at all: the kernel wanted 16 bytes of 64-bit longs
 * and refuses 8 with EINVAL, which then reaches connect() as a setsockopt
 * error rather than a silently wrong timeout.) The old fixed 16-byte, 64-bit
 * encoding was read by a 32-bit kernel as seconds = the low word and
 * microseconds = the high word (0): the fraction of every timeout was
 * dropped, and one under a second became 0, which vsock_connectible_setsockopt()
 * replaces with VSOCK_DEFAULT_CONNECT_TIMEOUT (2 s).
 */
export function encodeTimeval(ms: number, bytesPerLong: 4 | 8, littleEndian = endianness() === 'LE'): Buffer {
  const seconds = Math.floor(ms / 1000);
  const value = Buffer.alloc(bytesPerLong * 2);
  writeLong(value, 0, seconds, bytesPerLong, littleEndian);
  writeLong(value, bytesPerLong, Math.round((ms - seconds * 1000) * 1000), bytesPerLong, littleEndian);
  return value;
}

/** The milliseconds in a `struct timeval` laid out as encodeTimeval() writes it; undefined if too short. */
export function decodeTimeval(value: Buffer, bytesPerLong: 4 | 8, littleEndian = endianness() === 'LE'): number | undefined {
  if (value.length < 2 * bytesPerLong) return undefined;
  return readLong(value, 0, bytesPerLong, littleEndian) * 1000 + readLong(value, bytesPerLong, bytesPerLong, littleEndian) / 1000;
}

/** One C long of `bytes` bytes at `at`, in the given byte order. */
function writeLong(out: Buffer, at: number, n: number, bytes: 4 | 8, littleEndian: boolean): void {
  if (bytes === 8) {
    if (littleEndian) out.writeBigInt64LE(BigInt(n), at);
    else out.writeBigInt64BE(BigInt(n), at);
  } else if (littleEndian) {
    out.writeInt32LE(n, at);
  } else {
    out.writeInt32BE(n, at);
  }
}

function readLong(value: Buffer, at: number, bytes: 4 | 8, littleEndian: boolean): number {
  if (bytes === 8) return Number(littleEndian ? value.readBigInt64LE(at) : value.readBigInt64BE(at));
  return littleEndian ? value.readInt32LE(at) : value.readInt32BE(at);
}

/**
 * Linux: a connect to CID 1 where the kernel has no vsock loopback would go
 * to this machine's hypervisor host (vsock-loopback.ts): it fails here
 * instead, before socket() or connect(). EADDRNOTAVAIL because it is what the
 * kernel itself answers for CID 1 there (bind, via vsock_find_cid() in
 * net/vmw_vsock/af_vsock.c), and connect(2)'s meaning for it, "the address is
 * not available from the local machine", is the case; it is also not one of
 * the errors redial waits out (ENETUNREACH would be), and loading a module is
 * not something waiting fixes.
 */
export function checkLoopbackTarget(target: HvSocketAddress | undefined, probe: () => VsockLoopbackProbe): HvSocketError | null {
  if (target?.cid !== VMADDR_CID_LOCAL) return null;
  let seen: VsockLoopbackProbe;
  try {
    seen = probe();
  } catch {
    return null; // no native binary: the attempt itself says so
  }
  // No vsock at all (socket() fails): the attempt's own socket() reports it.
  if (seen.available || seen.syscall === 'socket') return null;
  const { address, addressText } = errorAddress(target);
  let bindError: string;
  try {
    bindError = getSystemErrorName(seen.errno);
  } catch {
    bindError = `error ${seen.errno}`;
  }
  return systemError(uvErrno('EADDRNOTAVAIL'), 'connect', {
    address,
    addressText:
      `${addressText}: this kernel has no vsock loopback (binding CID 1 fails with ${bindError}: vsock_loopback is not loaded), ` +
      "and without it a connect to CID 1 would go to this machine's hypervisor host, so none was made. " +
      'Load it with modprobe vsock_loopback (Linux 5.6 or later); WSL 2 has no vsock loopback',
  });
}

/** Linux, with the loopback probe as a parameter so that tests can give it an answer. */
export function linuxPlatform(probeLoopback: () => VsockLoopbackProbe, longBytes: 4 | 8 = longSizeOf(process.arch)): SocketPlatform {
  return {
    ...linuxBase(longBytes),
    checkTarget: (target) => checkLoopbackTarget(target, probeLoopback),
  };
}

const linuxBase = (longBytes: 4 | 8): SocketPlatform => ({
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
    const out: SocketOption[] = [];
    if (options.connectTimeout !== undefined) {
      out.push({ level: AF_VSOCK, name: SO_VM_SOCKETS_CONNECT_TIMEOUT, value: encodeTimeval(options.connectTimeout, longBytes) });
    }
    if (options.bufferSize !== undefined) out.push(...vsockBufferOptions(options.bufferSize));
    return out;
  },
  // The accepted socket has its listener's sizes already (vsockBufferOptions());
  // set again, they say so on every accepted socket, as on Windows.
  acceptedSocketOptions: (options) => (options.bufferSize === undefined ? [] : vsockBufferOptions(options.bufferSize)),
  bufferSizeOption: { level: AF_VSOCK, name: SO_VM_SOCKETS_BUFFER_SIZE, length: 8 },
  connectError(errno) {
    // vsock answers a connect to a port nobody listens on with a reset;
    // every other stack (and Hyper-V) calls that a refusal
    // (docs/hyperv-facts.md#errors).
    return errno === uvErrno('ECONNRESET') ? uvErrno('ECONNREFUSED') : errno;
  },
  writeError(errno) {
    // vsock has no reset: a peer that closes shuts the connection down both
    // ways, and the next send fails with EPIPE at once (vsock_connectible_sendmsg:
    // peer_shutdown & RCV_SHUTDOWN), where TCP takes the bytes and the peer's
    // reset follows (ECONNRESET). The stream layer never writes after our own
    // end(), so here EPIPE always means the peer closed: a client that a server
    // dropped (maxConnections, or a listener closed with it still queued) sees
    // node:net's ECONNRESET, not an EPIPE that no TCP peer gives on a first write.
    return errno === uvErrno('EPIPE') ? uvErrno('ECONNRESET') : errno;
  },
});

const linux = linuxPlatform(vsockLoopback);

/**
 * `bufferSize` on Windows AF_HYPERV: SO_SNDBUF and SO_RCVBUF. Whether the
 * Hyper-V socket provider sizes anything from them is not documented
 * (docs/hyperv-facts.md#buffer-sizes); the Linux end of the same channel does:
 * torvalds/linux net/vmw_vsock/hyperv_transport.c, hvs_open_connection(),
 * sizes a connection's VMBus send and receive rings from the socket's
 * sk_sndbuf and sk_rcvbuf (page-aligned, between the transport's minimum
 * and RINGBUFFER_HVS_MAX_SIZE). So they are set, but as hints (`optional`):
 * a provider that refuses them never fails the connect, the listen or an
 * accept; getBufferSize() and `hvsock doctor` show what the socket holds.
 */
function hyperVBufferOptions(bytes: number): SocketOption[] {
  return socketBufferOptions(bytes, 'win32', process.arch, true);
}

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
    if (options.bufferSize !== undefined) out.push(...hyperVBufferOptions(options.bufferSize));
    return out;
  },
  acceptedSocketOptions(options) {
    // As WSL does for its accept sockets: a connection is kept across a
    // suspend only if its own socket says so.
    const out: SocketOption[] =
      options.connectedSuspend === true ? [{ level: HV_PROTOCOL_RAW, name: HVSOCKET_CONNECTED_SUSPEND, value: ulong(1) }] : [];
    // Set on the accept socket before AcceptEx, as the flag above.
    if (options.bufferSize !== undefined) out.push(...hyperVBufferOptions(options.bufferSize));
    return out;
  },
  bufferSizeOption: { level: socketLevelNumbers('win32').SOL_SOCKET, name: socketLevelNumbers('win32').SO_RCVBUF, length: 4 },
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
