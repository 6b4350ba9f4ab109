// Hyper-V VM lookups and the nested-virtualization switch, through the
// Hyper-V PowerShell module on the host. A VM name is data, never code: it
// travels in an environment variable that fixed scripts read, so a name like
// "x'; Remove-Item C:\ -Recurse; '" is only ever compared with VM names.
// The scripts emit JSON (ConvertTo-Json) and the parsers here read it.
// powershell.exe runs by full path, never looked for in the current folder
// (system-programs.ts says why).
import { execFile } from 'node:child_process';
import { ERR_INVALID_ARG_VALUE, systemError } from '../errors/errors.js';
import { normalizeGuid } from '../address/guid.js';
import { uvErrno } from '../transport/platform.js';
import { validateBoolean, validateString } from '../errors/validate.js';
import { systemProgramPath, type SystemProgramContext } from './system-programs.js';

/** The environment variable that carries the VM name into every script. */
export const VM_NAME_VARIABLE = 'HVSOCK_VM_NAME';
/** And the wanted ExposeVirtualizationExtensions value, for setNested. */
export const ENABLE_VARIABLE = 'HVSOCK_ENABLE';
/** Nested virtualization needs VM configuration version 8.0 or later. */
export const NESTED_MIN_VERSION = '8.0';

/** A Hyper-V VM as Get-VM describes it. */
export interface VmInfo {
  /** The VM ID, for connect({ vmId }) (lowercase). */
  id: string;
  /** The VM's name. */
  name: string;
  /** Its state (Running, Off, …). */
  state: string;
  /** Its configuration version (8.0 and later allow nested virtualization). */
  version: string;
}

/** A VM's nested-virtualization settings and what bears on them. */
export interface NestedStatus extends VmInfo {
  /** Whether the VM's processor exposes virtualization extensions (nested virtualization is on). */
  exposeVirtualizationExtensions: boolean;
  /** Whether the VM uses dynamic memory (with nested virtualization its memory cannot be resized while it runs). */
  dynamicMemoryEnabled: boolean;
  /** Per network adapter: whether MAC address spoofing is on. */
  macAddressSpoofing: boolean[];
}

export interface PowerShellCommand {
  /** Windows PowerShell's full path: %SystemRoot%\System32\WindowsPowerShell\v1.0\powershell.exe. */
  file: string;
  args: string[];
  /** Variables added to the environment: the only way data reaches the script. */
  env: Record<string, string>;
}

// Exact name match with -eq: Get-VM -Name would treat [ ] * ? as wildcards.
const FIND_VM = `$vm = @(Get-VM | Where-Object { $_.Name -eq $env:${VM_NAME_VARIABLE} })
if ($vm.Count -eq 0) { [Console]::Error.WriteLine('HVSOCK_NO_SUCH_VM'); exit 4 }
if ($vm.Count -gt 1) { [Console]::Error.WriteLine('HVSOCK_AMBIGUOUS_VM'); exit 5 }
$vm = $vm[0]`;
const VM_FIELDS = `Id = $vm.Id.Guid; Name = $vm.Name; State = "$($vm.State)"; Version = "$($vm.Version)"`;

export const SCRIPTS = {
  listVms: `$ErrorActionPreference = 'Stop'
ConvertTo-Json -Compress -InputObject @(Get-VM | ForEach-Object { [ordered]@{ Id = $_.Id.Guid; Name = $_.Name; State = "$($_.State)"; Version = "$($_.Version)" } })`,
  getVm: `$ErrorActionPreference = 'Stop'
${FIND_VM}
ConvertTo-Json -Compress -InputObject ([ordered]@{ ${VM_FIELDS} })`,
  nestedStatus: `$ErrorActionPreference = 'Stop'
${FIND_VM}
$cpu = Get-VMProcessor -VM $vm
$memory = Get-VMMemory -VM $vm
$spoofing = @(Get-VMNetworkAdapter -VM $vm | ForEach-Object { "$($_.MacAddressSpoofing)" -eq 'On' })
ConvertTo-Json -Compress -InputObject ([ordered]@{ ${VM_FIELDS}; ExposeVirtualizationExtensions = [bool]$cpu.ExposeVirtualizationExtensions; DynamicMemoryEnabled = [bool]$memory.DynamicMemoryEnabled; MacAddressSpoofing = $spoofing })`,
  setNested: `$ErrorActionPreference = 'Stop'
${FIND_VM}
Set-VMProcessor -VM $vm -ExposeVirtualizationExtensions ($env:${ENABLE_VARIABLE} -eq '1')
ConvertTo-Json -Compress -InputObject ([ordered]@{ ${VM_FIELDS} })`,
} as const;

/** The exact command line for a script: fixed arguments, the script base64-encoded as UTF-16LE. */
export function powershellCommand(script: string, env: Record<string, string> = {}, context?: SystemProgramContext): PowerShellCommand {
  return {
    file: systemProgramPath('powershell.exe', context),
    args: ['-NoLogo', '-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-EncodedCommand', Buffer.from(script, 'utf16le').toString('base64')],
    env,
  };
}

function validateVmName(name: unknown): string {
  validateString(name, 'name');
  if (name.length === 0 || name.includes('\0')) throw ERR_INVALID_ARG_VALUE('name', name, 'must be a non-empty VM name without NUL characters');
  return name;
}

function field(value: unknown, name: string, type: 'string' | 'boolean'): string | boolean {
  if (typeof value !== type) throw new Error(`PowerShell output has no ${type} ${name}`);
  return value as string | boolean;
}

function readVm(raw: Record<string, unknown>): VmInfo {
  return {
    id: normalizeGuid(field(raw.Id, 'Id', 'string') as string, 'Id'),
    name: field(raw.Name, 'Name', 'string') as string,
    state: field(raw.State, 'State', 'string') as string,
    version: field(raw.Version, 'Version', 'string') as string,
  };
}

/** Parses listVms output: a JSON array of { Id, Name, State, Version }. */
export function parseVmList(json: string): VmInfo[] {
  const raw = JSON.parse(json) as unknown;
  // Windows PowerShell 5.1 may unwrap a one-element array despite -InputObject @().
  const list = Array.isArray(raw) ? raw : raw === null || raw === '' ? [] : [raw];
  return list.map((vm) => readVm(vm as Record<string, unknown>));
}

export function parseVm(json: string): VmInfo {
  return readVm(JSON.parse(json) as Record<string, unknown>);
}

export function parseNestedStatus(json: string): NestedStatus {
  const raw = JSON.parse(json) as Record<string, unknown>;
  const spoofing = raw.MacAddressSpoofing;
  const list = Array.isArray(spoofing) ? spoofing : spoofing === undefined || spoofing === null ? [] : [spoofing];
  return {
    ...readVm(raw),
    exposeVirtualizationExtensions: field(raw.ExposeVirtualizationExtensions, 'ExposeVirtualizationExtensions', 'boolean') as boolean,
    dynamicMemoryEnabled: field(raw.DynamicMemoryEnabled, 'DynamicMemoryEnabled', 'boolean') as boolean,
    macAddressSpoofing: list.map((v, i) => field(v, `MacAddressSpoofing[${i}]`, 'boolean') as boolean),
  };
}

/** Hyper-V configuration versions are major.minor ("9.0", "10.0", "12.0"). */
function versionAtLeast(version: string, minimum: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  const [wantMajor = 0, wantMinor = 0] = minimum.split('.').map(Number);
  return major > wantMajor || (major === wantMajor && minor >= wantMinor);
}

/** What stands in the way of changing nested virtualization, and what to know afterwards. */
export function nestedPrerequisites(status: NestedStatus): { blockers: string[]; notes: string[] } {
  const blockers: string[] = [];
  const notes: string[] = [];
  if (status.state !== 'Off') blockers.push(`VM "${status.name}" is ${status.state}: turn it off first (Stop-VM), the setting only changes while it is off.`);
  if (!versionAtLeast(status.version, NESTED_MIN_VERSION)) {
    blockers.push(`VM configuration version ${status.version} is older than ${NESTED_MIN_VERSION}: Update-VMVersion first.`);
  }
  notes.push('The host CPU needs VT-x with EPT (Intel) or AMD-V with RVI; without them the VM will not start nested.');
  if (status.dynamicMemoryEnabled) notes.push('Dynamic memory is on: with nested virtualization the VM\'s memory cannot be resized while it runs.');
  if (!status.macAddressSpoofing.some(Boolean)) {
    notes.push('Guests of this VM need networking: turn on MAC address spoofing (Set-VMNetworkAdapter -VMName <name> -MacAddressSpoofing On) or use NAT inside the VM.');
  }
  return { blockers, notes };
}

export type Runner = (command: PowerShellCommand) => Promise<{ stdout: string; stderr: string }>;

/** Runs a command for real: powershell.exe with the data in its environment. */
export const runPowerShell: Runner = (command) =>
  new Promise((resolve, reject) => {
    // Off Windows there is no Windows PowerShell to start (and C:\… would be a relative name there).
    if (process.platform !== 'win32') {
      reject(systemError(uvErrno('ENOSYS'), 'powershell', { hint: `Hyper-V VM management runs on the Windows host; this is ${process.platform}` }));
      return;
    }
    execFile(command.file, command.args, { env: { ...process.env, ...command.env }, windowsHide: true, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (error === null) resolve({ stdout, stderr });
      else reject(Object.assign(error, { stdout, stderr }));
    });
  });

/** Turns a failed PowerShell run (of `file`) into a typed error. */
function hypervError(error: Error & { code?: unknown; stderr?: string; syscall?: unknown }, file: string, name?: string): Error {
  const stderr = error.stderr ?? '';
  if (error.code === 'ENOSYS' && error.syscall === 'powershell') return error;
  if (error.code === 'ENOENT') {
    // Not there at its full path: say where it was looked for (`path`, and in the message).
    const missing = systemError(uvErrno('ENOSYS'), 'powershell', { hint: `powershell.exe not found at ${file}: Hyper-V VM management needs Windows with Windows PowerShell` });
    return Object.assign(missing, { path: file });
  }
  if (stderr.includes('HVSOCK_NO_SUCH_VM')) return systemError(uvErrno('ENOENT'), 'Get-VM', { hint: `no VM is named ${JSON.stringify(name)}` });
  if (stderr.includes('HVSOCK_AMBIGUOUS_VM')) return ERR_INVALID_ARG_VALUE('name', name, 'matches more than one VM');
  if (/is not recognized|CommandNotFoundException/.test(stderr)) {
    return systemError(uvErrno('ENOSYS'), 'Get-VM', { hint: 'the Hyper-V PowerShell module is missing: enable Hyper-V (Hyper-V Module for Windows PowerShell)' });
  }
  if (/permission|access is denied|required permission/i.test(stderr)) {
    return systemError(uvErrno('EPERM'), 'Get-VM', { hint: 'Hyper-V management needs an elevated prompt or membership in Hyper-V Administrators' });
  }
  return new Error(`PowerShell failed: ${stderr.trim() || error.message}`, { cause: error });
}

async function invoke(script: string, env: Record<string, string>, run: Runner, name?: string): Promise<string> {
  const command = powershellCommand(script, env);
  let output: { stdout: string; stderr: string };
  try {
    output = await run(command);
  } catch (error) {
    throw hypervError(error as Error, command.file, name);
  }
  // Every script prints JSON (an empty list is "[]"): nothing at all means a PowerShell that is not
  // Windows PowerShell with the Hyper-V module (Wine's stand-in, say), which is named by its path.
  if (output.stdout.trim() === '') {
    const said = output.stderr.replace(/\s+/g, ' ').trim();
    throw Object.assign(new Error(`PowerShell (${command.file}) printed nothing${said === '' ? '' : `: ${said.slice(0, 160)}`}`), { path: command.file });
  }
  return output.stdout;
}

/** Every Hyper-V VM on this host (Get-VM), through PowerShell. */
export async function listVms(run: Runner = runPowerShell): Promise<VmInfo[]> {
  return parseVmList(await invoke(SCRIPTS.listVms, {}, run));
}

/** The VM's ID (what (Get-VM -Name X).Id gives), for connect({ vmId }). */
export async function getVmId(name: string, run: Runner = runPowerShell): Promise<string> {
  validateVmName(name);
  return parseVm(await invoke(SCRIPTS.getVm, { [VM_NAME_VARIABLE]: name }, run, name)).id;
}

/** A VM's nested-virtualization settings, with what blocks changing them and notes on what they need. */
export async function getNestedStatus(name: string, run: Runner = runPowerShell): Promise<NestedStatus & ReturnType<typeof nestedPrerequisites>> {
  validateVmName(name);
  const status = parseNestedStatus(await invoke(SCRIPTS.nestedStatus, { [VM_NAME_VARIABLE]: name }, run, name));
  return { ...status, ...nestedPrerequisites(status) };
}

/**
 * Sets ExposeVirtualizationExtensions after checking the prerequisites (VM off,
 * configuration version ≥ 8.0); a blocker is an ERR_HVSOCK_NESTED_PREREQUISITE
 * error naming it. Returns the status with notes (CPU, memory, networking).
 */
export async function setNested(name: string, enabled: boolean, run: Runner = runPowerShell): Promise<NestedStatus & ReturnType<typeof nestedPrerequisites>> {
  validateVmName(name);
  validateBoolean(enabled, 'enabled');
  const status = await getNestedStatus(name, run);
  if (status.blockers.length > 0) {
    throw Object.assign(new Error(`cannot change nested virtualization: ${status.blockers.join(' ')}`), { code: 'ERR_HVSOCK_NESTED_PREREQUISITE', blockers: status.blockers });
  }
  await invoke(SCRIPTS.setNested, { [VM_NAME_VARIABLE]: name, [ENABLE_VARIABLE]: enabled ? '1' : '0' }, run, name);
  return { ...status, exposeVirtualizationExtensions: enabled };
}
