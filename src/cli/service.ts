// `hvsock service register|list|unregister`: the host's Hyper-V service registry.
import { SERVICES_KEY, listServices, registerService, unregisterService } from '../host/services.js';
import { isGuid, normalizeGuid } from '../address/guid.js';
import { EXIT_OK } from './exit-codes.js';
import { withoutSyscall } from './messages.js';
import { UsageError } from './usage.js';

/** The highest port with a template service GUID (XXXXXXXX-facb-…): Linux guests reach it as that vsock port. */
const MAX_TEMPLATE_PORT = 0x7fffffff;

export type ServiceArgs =
  | { action: 'register'; name: string; serviceId: string | number | undefined; json: boolean }
  | { action: 'list'; json: boolean }
  | { action: 'unregister'; serviceId: string | number };

/**
 * A service as typed: a GUID, or a port (decimal or 0x hex) that stands for
 * its template GUID. `what` names it in the message: "--service-id", "the service".
 */
export function serviceOption(text: string, what: string, command: string): string | number {
  if (/^(\d+|0x[0-9a-f]+)$/i.test(text) && Number(text) <= MAX_TEMPLATE_PORT) return Number(text);
  if (isGuid(text)) return normalizeGuid(text);
  throw new UsageError(`${what} must be a GUID or a port (0 to 0x7FFFFFFF), got "${text}"`, command);
}

/** --name: what Hyper-V shows; the registry takes any text but an empty one or one with NUL. */
export function nameOption(text: string, command: string): string {
  if (text.length === 0 || text.includes('\0')) throw new UsageError(`--name must be a non-empty name without NUL characters`, command);
  return text;
}

/** The service as the user gave it: the port when it has one. */
function serviceText(serviceId: string | number): string {
  return typeof serviceId === 'number' ? `port ${serviceId}` : serviceId;
}

/** A registry failure in the user's words: what to do about it, and the code for a search. */
export function serviceFailure(error: unknown, args: ServiceArgs): Error {
  const code = (error as { code?: unknown }).code;
  let text: string;
  if (code === 'EPERM' || code === 'EACCES') {
    text = `changing the service registry (${SERVICES_KEY}) needs an elevated (Administrator) prompt (${code})`;
  } else if (code === 'ENOENT' && args.action === 'unregister') {
    text = `no service ${serviceText(args.serviceId)} is registered`;
  } else {
    text = `the service registry could not be ${args.action === 'list' ? 'read' : 'changed'}: ${withoutSyscall(error)}`;
  }
  return Object.assign(new Error(text, { cause: error }), { code });
}

export function runService(args: ServiceArgs, out: (text: string) => void): number {
  try {
    switch (args.action) {
      case 'register': {
        const serviceId = registerService({ name: args.name, ...(args.serviceId === undefined ? {} : { serviceId: args.serviceId }) });
        out(args.json ? JSON.stringify({ serviceId, name: args.name }) : serviceId);
        return EXIT_OK;
      }
      case 'list': {
        const services = listServices();
        if (args.json) out(JSON.stringify(services, null, 2));
        else for (const s of services) out(`${s.serviceId}  ${s.name ?? ''}`);
        return EXIT_OK;
      }
      case 'unregister':
        unregisterService(args.serviceId);
        return EXIT_OK;
    }
  } catch (error) {
    throw serviceFailure(error, args);
  }
}
