// hvsock: Hyper-V sockets (AF_HYPERV on Windows, AF_VSOCK on Linux) with
// node:net's API shape. This entry is the socket API; the host tools (service
// registration, VM lookup, nested virtualization, WSL) are `hvsock/host`.
export { createServer, connect, createConnection, localCid } from './net/api.js';
export { Server, type ConnectionListener } from './net/server.js';
export { Socket, type SocketReadyState } from './net/socket.js';
export type { SocketEvents, SocketListener } from './net/socket-events.js';
export type { ServerEvents, ServerListener, DropEvent, WslVmNotFoundError } from './net/server-events.js';
export type { ConnectOptions, ListenOptions, ServerOptions, SocketOptions, HyperVSocketOptions } from './net/options.js';
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
