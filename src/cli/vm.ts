// `hvsock vm id|list|nested`: Hyper-V VMs by name, through PowerShell (names as data).
import { getNestedStatus, getVmId, listVms, setNested } from '../host/vms.js';
import { EXIT_OK } from './exit-codes.js';

export interface VmArgs {
  action: string | undefined;
  name: string | undefined;
  enable: boolean | undefined;
  json: boolean;
}

export async function runVm(args: VmArgs, out: (text: string) => void): Promise<number> {
  switch (args.action) {
    case 'id': {
      const id = await getVmId(args.name as string);
      out(args.json ? JSON.stringify({ name: args.name, id }) : id);
      return EXIT_OK;
    }
    case 'list': {
      const vms = await listVms();
      if (args.json) out(JSON.stringify(vms, null, 2));
      else for (const vm of vms) out(`${vm.id}  ${vm.state.padEnd(8)}  ${vm.version.padEnd(5)}  ${vm.name}`);
      return EXIT_OK;
    }
    case 'nested': {
      const status = args.enable === undefined ? await getNestedStatus(args.name as string) : await setNested(args.name as string, args.enable);
      if (args.json) out(JSON.stringify(status, null, 2));
      else {
        out(`${status.name}: nested virtualization ${status.exposeVirtualizationExtensions ? 'on' : 'off'} (${status.state}, version ${status.version})`);
        for (const line of [...status.blockers, ...status.notes]) out(`  - ${line}`);
      }
      return EXIT_OK;
    }
    default:
      throw Object.assign(new Error(`vm needs id, list or nested, not "${args.action ?? ''}"`), { code: 'ERR_INVALID_ARG_VALUE' });
  }
}
