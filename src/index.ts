// hvsock: Hyper-V sockets (AF_HYPERV on Windows, AF_VSOCK on Linux) with
// node:net's API shape. This entry is the socket API; the host tools (service
// registration, VM lookup, nested virtualization, WSL) are `hvsock/host`.
export { createServer, connect, createConnection, localCid } from './net/api.js';
import { callable } from './net/callable.js';
import { Server as ServerClass } from './net/server.js';
import { Socket as SocketClass } from './net/socket.js';
export type { ConnectionListener } from './net/server.js';
export type { SocketReadyState } from './net/socket.js';
export type { Callable } from './net/callable.js';

/** A Hyper-V / vsock server with node:net's Server behaviour; callable without `new`, as net.Server. */
export const Server = callable(ServerClass);
export type Server = ServerClass;
/** A Hyper-V / vsock stream socket with node:net's Socket behaviour; callable without `new`, as net.Socket. */
export const Socket = callable(SocketClass);
export type Socket = SocketClass;
export type { SocketEvents, SocketListener } from './net/socket-events.js';
export type { ServerEvents, ServerListener, DropEvent, WslVmNotFoundError } from './net/server-events.js';
export type { ConnectOptions, ListenOptions, ServerOptions, SocketOptions, HyperVSocketOptions, BufferSizeOptions } from './net/options.js';
export type { RedialOptions, RedialEvent } from './net/redial.js';
export type { WslListenOptions, WslRestartEvent } from './net/wsl-listener.js';
export * from './address/constants.js';
export { parseAddress, MACHINE_NAMES, type ParsedAddress } from './address/text.js';
export { isGuid, normalizeGuid, parseGuid, formatGuid, serviceIdFromPort, portFromServiceId, isTemplateServiceId } from './address/guid.js';
export {
  resolveAddress,
  decodeSockaddr,
  encodeSockaddrVm,
  decodeSockaddrVm,
  encodeSockaddrHv,
  decodeSockaddrHv,
  formatAddress,
  type AddressInput,
  type HvSocketAddress,
  type ResolvedAddress,
  type AddressPlatform,
  type AddressPurpose,
} from './address/address.js';
export type { HvSocketError } from './errors/errors.js';
