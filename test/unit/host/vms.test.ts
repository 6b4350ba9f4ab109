import { describe, expect, it } from 'vitest';
import {
  ENABLE_VARIABLE,
  SCRIPTS,
  VM_NAME_VARIABLE,
  getNestedStatus,
  getVmId,
  listVms,
  nestedPrerequisites,
  parseNestedStatus,
  parseVmList,
  powershellCommand,
  setNested,
  type PowerShellCommand,
  type Runner,
} from '../../../src/host/vms.js';

const decode = (command: PowerShellCommand): string => Buffer.from(command.args[command.args.length - 1] as string, 'base64').toString('utf16le');
const FIXED_ARGS = ['-NoLogo', '-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-EncodedCommand'];

// Samples shaped by the documented property names of Get-VM (Id, Name, State,
// Version), Get-VMProcessor (ExposeVirtualizationExtensions), Get-VMMemory
// (DynamicMemoryEnabled) and Get-VMNetworkAdapter (MacAddressSpoofing), as our
// scripts project them. Not recorded from a Hyper-V host: there is none here.
const SAMPLE_VM = { Id: '3F2504E0-4F89-11D3-9A0C-0305E82C3301', Name: 'build box', State: 'Off', Version: '9.0' };
const SAMPLE_NESTED = { ...SAMPLE_VM, ExposeVirtualizationExtensions: false, DynamicMemoryEnabled: true, MacAddressSpoofing: [false, true] };

/** A runner that records the command and answers with `stdout`, as powershell.exe would. */
function fake(...answers: string[]): Runner & { calls: PowerShellCommand[] } {
  const calls: PowerShellCommand[] = [];
  const run = (async (command: PowerShellCommand) => {
    calls.push(command);
    return { stdout: answers.shift() ?? '', stderr: '' };
  }) as Runner & { calls: PowerShellCommand[] };
  run.calls = calls;
  return run;
}

describe('Hyper-V VM helpers: PowerShell command lines', () => {
  it('builds a fixed argument list with the script UTF-16LE base64 encoded', () => {
    const command = powershellCommand('Get-VM', { A: 'b' });
    // By full path (never a bare name the current folder could answer), C:\Windows when SystemRoot is unset (this Linux run).
    expect(command.file).toBe(process.platform === 'win32' ? command.file : 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe');
    expect(command.file).toMatch(/^[A-Za-z]:\\.*\\System32\\WindowsPowerShell\\v1\.0\\powershell\.exe$/);
    const elsewhere = powershellCommand('Get-VM', {}, { env: { SystemRoot: 'D:\\Win' }, arch: 'x64', exists: () => false });
    expect(elsewhere.file).toBe('D:\\Win\\System32\\WindowsPowerShell\\v1.0\\powershell.exe');
    expect(command.args.slice(0, -1)).toEqual(FIXED_ARGS);
    expect(decode(command)).toBe('Get-VM');
    expect(command.env).toEqual({ A: 'b' });
  });

  it("passes a hostile VM name only as data: the exact command line does not contain it", async () => {
    const hostile = "x'; Remove-Item C:\\ -Recurse; '";
    const run = fake(JSON.stringify(SAMPLE_VM));
    expect(await getVmId(hostile, run)).toBe('3f2504e0-4f89-11d3-9a0c-0305e82c3301');
    const [command] = run.calls;
    expect(command?.args).toEqual([...FIXED_ARGS, Buffer.from(SCRIPTS.getVm, 'utf16le').toString('base64')]);
    expect(JSON.stringify(command?.args)).not.toContain('Remove-Item');
    expect(decode(command as PowerShellCommand)).toBe(SCRIPTS.getVm);
    expect(command?.env).toEqual({ [VM_NAME_VARIABLE]: hostile });
    // The script compares names with -eq (no wildcards) and reads the name from the environment.
    expect(SCRIPTS.getVm).toContain(`$_.Name -eq $env:${VM_NAME_VARIABLE}`);
  });

  it('setNested checks first, then sends only the fixed script and the flag as data', async () => {
    const run = fake(JSON.stringify(SAMPLE_NESTED), JSON.stringify(SAMPLE_VM));
    const result = await setNested('build box', true, run);
    expect(result.exposeVirtualizationExtensions).toBe(true);
    expect(run.calls.map(decode)).toEqual([SCRIPTS.nestedStatus, SCRIPTS.setNested]);
    expect(run.calls[1]?.env).toEqual({ [VM_NAME_VARIABLE]: 'build box', [ENABLE_VARIABLE]: '1' });
  });

  it('refuses to change a running or old VM, without running Set-VMProcessor', async () => {
    const run = fake(JSON.stringify({ ...SAMPLE_NESTED, State: 'Running', Version: '5.0' }));
    await expect(setNested('build box', true, run)).rejects.toMatchObject({
      code: 'ERR_HVSOCK_NESTED_PREREQUISITE',
      blockers: [expect.stringMatching(/is Running: turn it off/), expect.stringMatching(/5.0 is older than 8.0/)],
    });
    expect(run.calls.map(decode)).toEqual([SCRIPTS.nestedStatus]);
  });

  it('validates names before any PowerShell runs', async () => {
    const run = fake();
    await expect(getVmId('', run)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(getVmId(42 as unknown as string, run)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    await expect(setNested('x', 'yes' as unknown as boolean, run)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    expect(run.calls).toEqual([]);
  });
});

describe('Hyper-V VM helpers: parsing ConvertTo-Json output (documented shapes, not recordings)', () => {
  it('reads a VM list, including PowerShell 5.1 unwrapping a single element and an empty list', () => {
    expect(parseVmList(JSON.stringify([SAMPLE_VM]))).toEqual([{ id: '3f2504e0-4f89-11d3-9a0c-0305e82c3301', name: 'build box', state: 'Off', version: '9.0' }]);
    expect(parseVmList(JSON.stringify(SAMPLE_VM))).toHaveLength(1);
    expect(parseVmList('[]')).toEqual([]);
    expect(() => parseVmList(JSON.stringify([{ ...SAMPLE_VM, Id: 7 }]))).toThrow(/no string Id/);
  });

  it('reads the nested status and says what to know', () => {
    const status = parseNestedStatus(JSON.stringify(SAMPLE_NESTED));
    expect(status).toMatchObject({ exposeVirtualizationExtensions: false, dynamicMemoryEnabled: true, macAddressSpoofing: [false, true] });
    const { blockers, notes } = nestedPrerequisites(status);
    expect(blockers).toEqual([]);
    expect(notes.join('\n')).toMatch(/VT-x with EPT/);
    expect(notes.join('\n')).toMatch(/memory cannot be resized/);
    expect(notes.join('\n')).not.toMatch(/MAC address spoofing/);
    expect(nestedPrerequisites({ ...status, macAddressSpoofing: [false] }).notes.join('\n')).toMatch(/MAC address spoofing.*or use NAT/);
    expect(parseNestedStatus(JSON.stringify({ ...SAMPLE_NESTED, MacAddressSpoofing: true })).macAddressSpoofing).toEqual([true]);
  });

  it('turns PowerShell failures into typed errors', async () => {
    const failing = (stderr: string, code?: string): Runner => async () => {
      throw Object.assign(new Error('failed'), { stderr, code });
    };
    // Not at its full path: ENOSYS (no PowerShell here), naming where it was looked for.
    const missing = (await listVms(failing('', 'ENOENT')).then(() => undefined, (e: unknown) => e)) as Error & { path?: string };
    expect(missing).toMatchObject({ code: 'ENOSYS', syscall: 'powershell', path: powershellCommand('').file });
    expect(missing.message).toContain(`powershell.exe not found at ${powershellCommand('').file}`);
    // One that runs but prints nothing (Wine's stand-in powershell.exe does) is named by its path too.
    const silent = (await listVms(fake('')).then(() => undefined, (e: unknown) => e)) as Error & { path?: string };
    expect(silent).toMatchObject({ message: `PowerShell (${powershellCommand('').file}) printed nothing`, path: powershellCommand('').file });
    await expect(getVmId('ghost', failing('HVSOCK_NO_SUCH_VM'))).rejects.toMatchObject({ code: 'ENOENT', message: /"ghost"/ });
    await expect(getVmId('twin', failing('HVSOCK_AMBIGUOUS_VM'))).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(listVms(failing("Get-VM : The term 'Get-VM' is not recognized"))).rejects.toMatchObject({ code: 'ENOSYS', message: /Hyper-V PowerShell module/ });
    await expect(getNestedStatus('x', failing('You do not have the required permission to complete this task.'))).rejects.toMatchObject({ code: 'EPERM' });
  });
});
