// What the CLI prints, where a unit test can reach it without a socket:
// addresses in the short form (the 'listening on' and 'connection from'
// lines, bench's peer, WSL's restart line, --json's text), and the library's
// errors retold in the CLI's words.
import { describe, expect, it } from 'vitest';
import type { Socket } from '../../../src/index.js';
import { HV_GUID_LOOPBACK, HV_GUID_PARENT, HV_GUID_WILDCARD, VMADDR_CID_ANY } from '../../../src/address/constants.js';
import { decodeSockaddr, encodeSockaddrHv, encodeSockaddrVm, resolveAddress, type HvSocketAddress } from '../../../src/address/address.js';
import { serviceIdFromPort } from '../../../src/address/guid.js';
import { ERR_INVALID_ARG_VALUE, ERR_OUT_OF_RANGE, systemError } from '../../../src/errors/errors.js';
import { getVmId, powershellCommand, type Runner } from '../../../src/host/vms.js';
import { uvErrno } from '../../../src/transport/platform.js';
import { addressJson, addressText, cidText, peerText } from '../../../src/cli/addresses.js';
import { listeningLine } from '../../../src/cli/bridge.js';
import { argProblem, failureText, withoutSyscall } from '../../../src/cli/messages.js';
import { serviceFailure } from '../../../src/cli/service.js';
import { vmFailure } from '../../../src/cli/vm.js';
import { wslRestartLine } from '../../../src/cli/wsl.js';
import { EXIT_FAILURE, EXIT_UNAVAILABLE, EXIT_USAGE, exitCodeFor } from '../../../src/cli/exit-codes.js';
import { UsageError } from '../../../src/cli/usage.js';

const VM = '2b2ac3a1-8a43-4c4b-9a3e-1f0e5d1e2f3a';

/** What a server bound to `input` reports: the OS's view, decoded as the socket layer decodes it. */
function bound(input: Parameters<typeof resolveAddress>[0], platform: 'linux' | 'win32'): HvSocketAddress {
  return decodeSockaddr(resolveAddress(input, 'listen', platform).sockaddr);
}

describe('addresses print in the short form', () => {
  it('"listening on": a wildcard listener reads any:<port> on both OSes, not 4294967295:<port>', () => {
    const server = (address: HvSocketAddress | null) => ({ address: () => address });
    expect(listeningLine(server(bound({ port: 5000 }, 'linux')))).toBe('listening on any:5000');
    expect(listeningLine(server(bound({ port: 5000 }, 'win32')))).toBe('listening on any:5000');
    expect(listeningLine(server(bound({ cid: 1, port: 0x1388 }, 'linux')))).toBe('listening on loopback:5000');
    expect(listeningLine(server(bound({ vmId: VM, port: 5000 }, 'win32')))).toBe(`listening on ${VM}:5000`);
    const guid = '3049197c-9a4e-4fbf-a2a5-6b5e8a9c1d2e';
    expect(listeningLine(server(bound({ vmId: HV_GUID_PARENT, serviceId: guid }, 'win32')))).toBe(`listening on parent:${guid}`);
    expect(listeningLine(server(null))).toBe('listening on ?');
  });

  it('"connection from": the peer by name or number', () => {
    const peer = (address: HvSocketAddress | undefined) => ({ remoteHvAddress: address, remoteAddress: address?.address }) as unknown as Socket;
    expect(peerText(peer(decodeSockaddr(encodeSockaddrVm(1, 1234))))).toBe('loopback:1234');
    expect(peerText(peer(decodeSockaddr(encodeSockaddrVm(3, 49152))))).toBe('3:49152');
    // A Linux reader of a Windows peer sees the name, not e0e16197-….
    expect(peerText(peer(decodeSockaddr(encodeSockaddrHv(HV_GUID_LOOPBACK, serviceIdFromPort(1234)))))).toBe('loopback:1234');
    expect(peerText(peer(decodeSockaddr(encodeSockaddrHv(VM, serviceIdFromPort(80)))))).toBe(`${VM}:80`);
    expect(peerText(peer(undefined))).toBe('?');
  });

  it('--json keeps the fields and adds the short form as text', () => {
    const address = bound({ port: 5000 }, 'linux');
    expect(addressJson(address)).toEqual({ ...address, text: 'any:5000' });
    expect(addressJson(address)).toMatchObject({ family: 'AF_VSOCK', address: 'any', cid: VMADDR_CID_ANY, port: 5000 });
    expect(addressJson(null)).toBeNull();
    expect(addressText(undefined)).toBe('?');
  });

  it('WSL restarting: old and new VM with the service', () => {
    const now = bound({ vmId: VM, port: 5000 }, 'win32');
    const before = 'c0ffee00-1111-2222-3333-444455556666';
    expect(wslRestartLine(now, before)).toBe(`WSL restarted: now listening on ${VM}:5000 (was ${before}:5000)`);
  });

  it('a CID as addresses name it (doctor\'s local CID)', () => {
    expect([1, 2, VMADDR_CID_ANY, 3, 4242].map(cidText)).toEqual(['loopback', 'parent', 'any', '3', '4242']);
    expect(bound({ vmId: HV_GUID_WILDCARD, port: 1 }, 'win32').address).toBe('any');
  });
});

describe("the library's errors in the CLI's words", () => {
  it('takes Node\'s wording of a bad argument apart', () => {
    expect(argProblem(ERR_INVALID_ARG_VALUE('options.vmId', 'x', 'is a listen wildcard, not a connect target'))).toEqual({
      name: 'options.vmId',
      problem: 'is a listen wildcard, not a connect target',
      received: "'x'",
    });
    expect(argProblem(ERR_OUT_OF_RANGE('options.port', '>= 1 && <= 2147483647', 2 ** 31))).toEqual({
      name: 'options.port',
      problem: 'is out of range: it must be from 1 to 2147483647',
      received: '2147483648',
    });
    expect(argProblem(systemError(uvErrno('ECONNREFUSED'), 'connect'))).toBeUndefined();
  });

  it('one line without the API\'s names: a value in place of a property, a hint in place of a system call', () => {
    expect(failureText(ERR_INVALID_ARG_VALUE('name', 'MyVM', 'matches more than one VM'))).toBe("'MyVM' matches more than one VM");
    expect(failureText(new UsageError('--mib must be …', 'bench'))).toBe('--mib must be …');
    expect(failureText(new Error('PowerShell failed: line one\r\n   line two\n'))).toBe('PowerShell failed: line one line two');
    const refused = systemError(uvErrno('ECONNREFUSED'), 'connect', { addressText: 'loopback:5000' });
    expect(failureText(refused)).toBe('connect ECONNREFUSED loopback:5000');
    expect(withoutSyscall(systemError(uvErrno('EPERM'), 'Get-VM', { hint: 'needs an elevated prompt' }))).toBe('needs an elevated prompt (EPERM)');
    expect(withoutSyscall(refused)).toBe('connect ECONNREFUSED loopback:5000');
  });

  it('service registry failures: what to do, and the code; never the Win32 call', () => {
    const register = { action: 'register', name: 'x', serviceId: 5000, json: false } as const;
    const denied = serviceFailure(systemError(uvErrno('EACCES'), 'RegCreateKeyExW', { hint: 'writing … needs an elevated (Administrator) process' }), register);
    expect(denied.message).toBe(
      'changing the service registry (HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Virtualization\\GuestCommunicationServices) needs an elevated (Administrator) prompt (EACCES)',
    );
    expect(exitCodeFor(denied)).toBe(EXIT_FAILURE);
    const missing = serviceFailure(systemError(uvErrno('ENOENT'), 'RegDeleteTreeW', { hint: 'no service … is registered' }), { action: 'unregister', serviceId: 5000 });
    expect(missing.message).toBe('no service port 5000 is registered');
    const other = serviceFailure(systemError(uvErrno('EIO'), 'RegOpenKeyExW', { hint: 'the key is unreadable' }), { action: 'list', json: false });
    expect(other.message).toBe('the service registry could not be read: the key is unreadable (EIO)');
    for (const e of [denied, missing, other]) expect(e.message).not.toMatch(/Reg\w+W/);
  });

  it('Hyper-V failures from PowerShell: the hint and the code, and a shared VM name as a usage error', async () => {
    const failing = (stderr: string, code: string | number = 1): Runner => () => Promise.reject(Object.assign(new Error('Command failed'), { code, stderr, stdout: '' }));
    const args = { action: 'id', name: 'MyVM', json: false } as const;
    const lookup = (run: Runner) => getVmId('MyVM', run).then(() => undefined, (error: unknown) => vmFailure(error, args));
    const none = await lookup(failing('HVSOCK_NO_SUCH_VM'));
    expect(none?.message).toBe('no VM is named "MyVM" (ENOENT)');
    expect(exitCodeFor(none)).toBe(EXIT_FAILURE);
    const noPowerShell = await lookup(failing('', 'ENOENT'));
    expect(noPowerShell?.message).toBe(`powershell.exe not found at ${powershellCommand('').file}: Hyper-V VM management needs Windows with Windows PowerShell (ENOSYS)`);
    expect(exitCodeFor(noPowerShell)).toBe(EXIT_UNAVAILABLE);
    const shared = await lookup(failing('HVSOCK_AMBIGUOUS_VM'));
    expect(shared).toBeInstanceOf(UsageError);
    expect((shared as UsageError).line).toBe('hvsock vm id: VM name "MyVM" matches more than one VM: rename one (Rename-VM)');
    expect(exitCodeFor(shared)).toBe(EXIT_USAGE);
  });
});
