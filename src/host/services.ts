// Hyper-V service registration on a Windows host: a VM can reach a service
// on its host only if the host lists the service GUID under
// HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Virtualization\GuestCommunicationServices
// with a friendly ElementName. Template GUIDs over loopback need none.
// Writing needs an elevated (Administrator) process.
// (docs/hyperv-facts.md#service-registration)
import { randomUUID } from 'node:crypto';
import { ERR_INVALID_ARG_VALUE, systemError } from '../errors/errors.js';
import { errorAddress } from '../address/address.js';
import { normalizeGuid, serviceIdFromPort } from '../address/guid.js';
import { loadBinding } from '../transport/native.js';
import { uvErrno } from '../transport/platform.js';
import { validateObject, validateString, validateUint32 } from '../errors/validate.js';

/** The registry key under which Hyper-V lists the services VMs may reach on this host. */
export const SERVICES_KEY =
  'HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Virtualization\\GuestCommunicationServices';

/** A service listed under SERVICES_KEY. */
export interface RegisteredService {
  /** The service GUID (lowercase). */
  serviceId: string;
  /** The ElementName value, or null if the key has none. */
  name: string | null;
}

/** registerService()'s options. */
export interface RegisterServiceOptions {
  /** Friendly name shown by Hyper-V (ElementName). */
  name: string;
  /** A service GUID, or a port for its template GUID; a new random GUID when omitted. */
  serviceId?: string | number;
}

interface RegistryBinding {
  list(): Array<[string, string | null]> | number;
  register(serviceId: string, name: string): number;
  unregister(serviceId: string): number;
  elevated(): boolean | number;
}

function registry(syscall: string): RegistryBinding {
  const binding = loadBinding() as unknown as { registry?: RegistryBinding };
  if (process.platform !== 'win32' || binding.registry === undefined) {
    throw systemError(uvErrno('ENOSYS'), syscall, { hint: `Hyper-V service registration is done on the Windows host; this is ${process.platform}` });
  }
  return binding.registry;
}

function check(result: number, syscall: string, serviceId?: string): void {
  if (result === 0) return;
  const hint =
    result === uvErrno('EPERM') || result === uvErrno('EACCES')
      ? `writing ${SERVICES_KEY} needs an elevated (Administrator) process`
      : result === uvErrno('ENOENT')
        ? `no service ${serviceId ?? ''} is registered`
        : undefined;
  throw systemError(result, syscall, { ...errorAddress(serviceId === undefined ? undefined : { serviceId }), hint });
}

/** Registers a service (idempotent: renames an existing one) and returns its GUID. */
export function registerService(options: RegisterServiceOptions): string {
  validateObject(options, 'options');
  validateString(options.name, 'options.name');
  if (options.name.length === 0 || options.name.includes('\0')) {
    throw ERR_INVALID_ARG_VALUE('options.name', options.name, 'must be a non-empty name without NUL characters');
  }
  let serviceId: string;
  if (options.serviceId === undefined) serviceId = randomUUID();
  else if (typeof options.serviceId === 'number') {
    validateUint32(options.serviceId, 'options.serviceId');
    serviceId = serviceIdFromPort(options.serviceId);
  } else serviceId = normalizeGuid(options.serviceId, 'options.serviceId');
  check(registry('RegCreateKeyExW').register(serviceId, options.name), 'RegCreateKeyExW', serviceId);
  return serviceId;
}

/** Every registered service, sorted by GUID. */
export function listServices(): RegisteredService[] {
  const result = registry('RegOpenKeyExW').list();
  if (typeof result === 'number') check(result, 'RegOpenKeyExW');
  return (result as Array<[string, string | null]>)
    .map(([serviceId, name]) => ({ serviceId: serviceId.toLowerCase(), name }))
    .sort((a, b) => a.serviceId.localeCompare(b.serviceId));
}

/** Removes a registration; ENOENT if there is none. */
export function unregisterService(serviceId: string | number): void {
  const id = typeof serviceId === 'number' ? serviceIdFromPort(serviceId) : normalizeGuid(serviceId, 'serviceId');
  check(registry('RegDeleteTreeW').unregister(id), 'RegDeleteTreeW', id);
}

/** Whether this Windows process is elevated (Administrator), as registering services needs. */
export function isElevated(): boolean {
  const result = registry('GetTokenInformation').elevated();
  if (typeof result === 'number') check(result, 'GetTokenInformation');
  return result === true;
}
