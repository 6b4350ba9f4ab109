// hvsock: Hyper-V sockets (AF_HYPERV on Windows, AF_VSOCK on Linux) with
// node:net's API shape.
import { hostPlatform } from './platform.js';
import { loadBinding } from './native.js';
import { systemError } from './errors.js';
import { Server, type ConnectionListener } from './server.js';
import { Socket } from './socket.js';
import type { ConnectOptions, ServerOptions } from './options.js';

export * from './constants.js';
export { parseAddress, MACHINE_NAMES, type ParsedAddress } from './shorthand.js';
export {
  getWslVmId,
  lookupWslVmId,
  ERR_WSL_VM_NOT_FOUND,
  type WslVmIdResult,
  type WslVmIdAttempt,
  type WslVmIdSource,
  type WslVmNotFoundError,
} from './wsl-vm-id.js';
export type { WslListenOptions, WslRestartEvent } from './wsl-server.js';
export { getVmId, listVms, getNestedStatus, setNested, type VmInfo, type NestedStatus } from './hyperv-vm.js';
export { registerService, listServices, unregisterService, SERVICES_KEY, type RegisteredService, type RegisterServiceOptions } from './services.js';
export { isGuid, normalizeGuid, parseGuid, formatGuid, serviceIdFromPort, portFromServiceId, isTemplateServiceId } from './guid.js';
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
} from './address.js';
export type { ConnectOptions, ListenOptions, ServerOptions, SocketOptions } from './options.js';
export type { SocketReadyState } from './socket.js';
export type { RedialOptions, RedialEvent } from './redial.js';
export type { ConnectionListener } from './server.js';
export type { HvSocketError } from './errors.js';
export { Server, Socket };

export function createServer(connectionListener?: ConnectionListener): Server;
export function createServer(options?: ServerOptions, connectionListener?: ConnectionListener): Server;
export function createServer(
  options?: ServerOptions | ConnectionListener,
  connectionListener?: ConnectionListener,
): Server {
  return new Server(options, connectionListener);
}

/**
 * Opens a connection: `connect({ cid, port })`, `connect({ vmId, serviceId })`
 * or `connect(port[, cid])`; the listener is added for 'connect'.
 */
export function connect(options: ConnectOptions, connectListener?: () => void): Socket;
export function connect(port: number, cid?: number, connectListener?: () => void): Socket;
export function connect(port: number, connectListener?: () => void): Socket;
export function connect(...args: unknown[]): Socket {
  const first = args[0];
  const allowHalfOpen =
    first !== null && typeof first === 'object' ? (first as ConnectOptions).allowHalfOpen : undefined;
  const socket = new Socket(allowHalfOpen === undefined ? {} : { allowHalfOpen });
  return (socket.connect as (...a: unknown[]) => Socket)(...args);
}

export const createConnection = connect;

/** This machine's vsock context ID (Linux). Throws a system error where there is none. */
export function localCid(): number {
  hostPlatform('localCid');
  const cid = loadBinding().localCid();
  if (cid < 0) throw systemError(cid, 'ioctl');
  return cid;
}
