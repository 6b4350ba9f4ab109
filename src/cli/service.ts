// `hvsock service register|list|unregister`: the host's Hyper-V service registry.
import { listServices, registerService, unregisterService } from '../host/services.js';
import { EXIT_OK } from './exit-codes.js';

export interface ServiceArgs {
  action: string | undefined;
  rest: string[];
  name: string | undefined;
  serviceId: string | undefined;
  json: boolean;
}

/** A port (decimal or 0x hex) stands for its template GUID; anything else is taken as a GUID. */
function serviceArg(text: string): string | number {
  return /^(\d+|0x[0-9a-f]+)$/i.test(text) ? Number(text) : text;
}

/** Throws usage errors as ERR_INVALID_ARG_VALUE (exit 2) and system errors as they come. */
export function runService(args: ServiceArgs, out: (text: string) => void): number {
  switch (args.action) {
    case 'register': {
      const serviceId = registerService({
        name: args.name as string,
        ...(args.serviceId === undefined ? {} : { serviceId: serviceArg(args.serviceId) }),
      });
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
      unregisterService(serviceArg(args.rest[0] as string));
      return EXIT_OK;
    default:
      throw Object.assign(new Error(`service needs register, list or unregister, not "${args.action ?? ''}"`), {
        code: 'ERR_INVALID_ARG_VALUE',
      });
  }
}
