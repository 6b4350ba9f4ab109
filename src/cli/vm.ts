// `hvsock vm id|list|nested`: Hyper-V VMs by name, through PowerShell (names as data).
import { getNestedStatus, getVmId, listVms, setNested } from '../host/vms.js';
import { EXIT_OK } from './exit-codes.js';
import { argProblem, withoutSyscall } from './messages.js';
import { UsageError } from './usage.js';

export type VmArgs =
  | { action: 'list'; json: boolean }
  | { action: 'id'; name: string; json: boolean }
  | { action: 'nested'; name: string; enable: boolean | undefined; json: boolean };

/** A VM name as typed: PowerShell compares it with VM names, so only an empty one (or NUL) is wrong. */
export function vmName(text: string, command: string): string {
  if (text.length === 0 || text.includes('\0')) throw new UsageError('the VM name must be non-empty, without NUL characters', command);
  return text;
}

/** --enable/--disable: the wanted setting, or undefined to only report it. */
export function nestedSwitch(enable: boolean, disable: boolean, command: string): boolean | undefined {
  if (enable && disable) throw new UsageError('--enable and --disable together: choose one', command);
  return enable ? true : disable ? false : undefined;
}

/** A PowerShell or Hyper-V failure in the user's words, with the code for a search. */
export function vmFailure(error: unknown, args: VmArgs): Error {
  const code = (error as { code?: unknown }).code;
  // The one usage error that needs Hyper-V to tell: a name two VMs share.
  if (argProblem(error)?.problem === 'matches more than one VM' && args.action !== 'list') {
    return new UsageError(`VM name "${args.name}" matches more than one VM: rename one (Rename-VM)`, `vm ${args.action}`);
  }
  return Object.assign(new Error(withoutSyscall(error), { cause: error }), { code });
}

export async function runVm(args: VmArgs, out: (text: string) => void): Promise<number> {
  try {
    switch (args.action) {
      case 'id': {
        const id = await getVmId(args.name);
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
        const status = args.enable === undefined ? await getNestedStatus(args.name) : await setNested(args.name, args.enable);
        if (args.json) out(JSON.stringify(status, null, 2));
        else {
          out(`${status.name}: nested virtualization ${status.exposeVirtualizationExtensions ? 'on' : 'off'} (${status.state}, version ${status.version})`);
          for (const line of [...status.blockers, ...status.notes]) out(`  - ${line}`);
        }
        return EXIT_OK;
      }
    }
  } catch (error) {
    throw vmFailure(error, args);
  }
}
