// hvsock/host: tools for the Windows side of Hyper-V sockets, kept apart
// from the socket API: the service registry (GuestCommunicationServices),
// Hyper-V VMs through PowerShell (IDs, nested virtualization), and WSL 2's
// utility VM ID.
export {
  registerService,
  listServices,
  unregisterService,
  isElevated,
  SERVICES_KEY,
  type RegisteredService,
  type RegisterServiceOptions,
} from './services.js';
export { getVmId, listVms, getNestedStatus, setNested, type VmInfo, type NestedStatus } from './vms.js';
export {
  getWslVmId,
  lookupWslVmId,
  ERR_WSL_VM_NOT_FOUND,
  type WslVmIdResult,
  type WslVmIdAttempt,
  type WslVmIdSource,
  type WslVmNotFoundError,
} from './wsl/vm-id.js';
export type { HvSocketError } from '../errors/errors.js';
