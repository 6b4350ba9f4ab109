// Not public API (the package's `exports` do not reach it). A transport that
// drives the native engine, and the Socket and Server above it, over IPv4
// loopback TCP. Tests use it where no hypervisor transport exists: under
// Wine, which has no AF_HYPERV, and on a Linux machine without vsock
// loopback. Everything but the address mapping is the real code path.
import type { HvSocketAddress, ResolvedAddress } from '../address/address.js';
import { ERR_INVALID_ARG_VALUE } from '../errors/errors.js';
import { kTransport } from './platform.js';
import type { SocketPlatform } from './platform.js';
import { socketBufferOptions, socketLevelNumbers, uvErrno } from './platform.js';
import { validateObject, validateUint32 } from '../errors/validate.js';

export { kTransport };

/** AF_INET and IPPROTO_TCP have the same numbers on Linux and Windows. */
const AF_INET = 2;
const IPPROTO_TCP = 6;
const SOCKADDR_IN_SIZE = 16;
const LOOPBACK = [127, 0, 0, 1];

/** An address on this transport: `{ port }`, always 127.0.0.1. */
export interface TcpAddress {
  family: 'AF_INET';
  address: string;
  port: number;
}

function encode(port: number): Buffer {
  const out = Buffer.alloc(SOCKADDR_IN_SIZE);
  out.writeUInt16LE(AF_INET, 0);
  out.writeUInt16BE(port, 2);
  out.set(LOOPBACK, 4);
  return out;
}

function describe(port: number, address = LOOPBACK.join('.')): HvSocketAddress {
  const tcp: TcpAddress = { family: 'AF_INET', address, port };
  // The facade types addresses as Hyper-V ones; here they are IPv4.
  return tcp as unknown as HvSocketAddress;
}

/** The socket layer's numbering: Windows' under Wine, Linux's otherwise. */
const tcpOs = (): 'linux' | 'win32' => (process.platform === 'win32' ? 'win32' : 'linux');

export const tcpLoopback: SocketPlatform = {
  name: 'tcp-loopback',
  family: AF_INET,
  protocol: IPPROTO_TCP,
  maxConnectTimeout: 2 ** 31 - 1,
  resolve(input, purpose): ResolvedAddress {
    validateObject(input, 'options');
    const port = (input as { port?: unknown }).port ?? (purpose === 'listen' ? 0 : undefined);
    validateUint32(port, 'options.port');
    if ((port as number) > 0xffff || (purpose === 'connect' && port === 0)) {
      throw ERR_INVALID_ARG_VALUE('options.port', port, 'is not a TCP port');
    }
    return { family: AF_INET, sockaddr: encode(port as number), address: describe(port as number) };
  },
  decode(sockaddr) {
    const b = Buffer.from(sockaddr.buffer, sockaddr.byteOffset, sockaddr.byteLength);
    if (b.length < 8 || b.readUInt16LE(0) !== AF_INET) {
      throw ERR_INVALID_ARG_VALUE('sockaddr', sockaddr, 'is not a sockaddr_in');
    }
    return describe(b.readUInt16BE(2), [...b.subarray(4, 8)].join('.'));
  },
  socketOptions(options) {
    if (options.connectTimeout !== undefined) {
      throw ERR_INVALID_ARG_VALUE('options.connectTimeout', options.connectTimeout, 'has no TCP equivalent here');
    }
    return options.bufferSize === undefined ? [] : socketBufferOptions(options.bufferSize, tcpOs());
  },
  // bufferSize as SO_SNDBUF/SO_RCVBUF, so that the engine suite drives the
  // option's whole path (listener, accept options, read back) over TCP.
  acceptedSocketOptions: (options) => (options.bufferSize === undefined ? [] : socketBufferOptions(options.bufferSize, tcpOs())),
  get bufferSizeOption() {
    const { SOL_SOCKET, SO_RCVBUF } = socketLevelNumbers(tcpOs());
    return { level: SOL_SOCKET, name: SO_RCVBUF, length: 4 as const };
  },
  connectError: (errno) => errno,
};

/** The libuv code for a name on the running OS, for tests that compare errno values. */
export { uvErrno };
