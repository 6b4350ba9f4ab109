// Each WSL VM ID source's reader, on output recorded from (or shaped exactly
// like) what the real program or API prints.
import { describe, expect, it } from 'vitest';
import {
  decodeConsoleOutput,
  hcsErrorMessage,
  isWsl1Kernel,
  isWsl2Kernel,
  parseHcsComputeSystems,
  parseHcsdiagList,
  parseRunningDistributions,
  parseWslinfoVmId,
  pickRegistryVmId,
} from '../../../src/host/wsl/parse.js';

const WSL = '5C0A7E2B-3F1D-4E8A-9B6C-1D2E3F405162';
const wsl = WSL.toLowerCase();
const OTHER = 'DE1517EC-BF1D-5A0B-B459-77A48CB1AD97';

describe('wslinfo --vm-id', () => {
  it('reads the upper-case GUID WSL prints, with or without the newline, as a lowercase VM ID', () => {
    expect(parseWslinfoVmId(`${WSL}\n`)).toEqual({ vmId: wsl });
    expect(parseWslinfoVmId(WSL)).toEqual({ vmId: wsl });
    expect(parseWslinfoVmId(`{${WSL}}\r\n`)).toEqual({ vmId: wsl });
  });

  it('says why there is no ID: WSL 1, nothing printed, something else printed, the nil GUID', () => {
    expect(parseWslinfoVmId('wsl1\n')).toEqual({ reason: expect.stringMatching(/WSL 1, which has no VM/) });
    expect(parseWslinfoVmId('')).toEqual({ reason: 'printed nothing' });
    expect(parseWslinfoVmId('Invalid command line argument: --vm-id')).toEqual({
      reason: 'printed "Invalid command line argument: --vm-id", not a GUID',
    });
    expect(parseWslinfoVmId('00000000-0000-0000-0000-000000000000')).toHaveProperty('reason');
  });
});

describe('wsl.exe output', () => {
  it('decodes the UTF-16LE wsl.exe writes to a pipe without WSL_UTF8, with and without a BOM, and UTF-8', () => {
    const names = 'Ubuntu-24.04\r\nDebian\r\n';
    expect(decodeConsoleOutput(Buffer.from(names, 'utf16le'))).toBe(names);
    expect(decodeConsoleOutput(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(names, 'utf16le')]))).toBe(names);
    expect(decodeConsoleOutput(Buffer.from(names, 'utf8'))).toBe(names);
    expect(decodeConsoleOutput(Buffer.from(`\ufeff${WSL}\n`, 'utf8'))).toBe(`${WSL}\n`);
    expect(decodeConsoleOutput(Buffer.alloc(0))).toBe('');
  });

  it('lists running distributions one per line, none for empty output, keeping names with spaces', () => {
    expect(parseRunningDistributions('Ubuntu-24.04\r\nMy Distro\r\n\r\n')).toEqual(['Ubuntu-24.04', 'My Distro']);
    expect(parseRunningDistributions('')).toEqual([]);
    expect(parseRunningDistributions('\0\r\n')).toEqual([]);
  });
});

describe('HcsEnumerateComputeSystems result', () => {
  const system = (id: string, owner: string, runtimeId = id) =>
    ({ Id: id, SystemType: 'VirtualMachine', Name: id, Owner: owner, RuntimeId: runtimeId, State: 'Running' });

  it("takes the RuntimeId of the system WSL owns, wherever it is listed, next to systems whose Id is no GUID", () => {
    const json = JSON.stringify([system('cowork-vm-1699151a', 'cowork-vm-1699151a', OTHER), system(WSL, 'WSL')]);
    expect(parseHcsComputeSystems(json)).toEqual({ vmId: wsl });
    expect(parseHcsComputeSystems(JSON.stringify([system(WSL, 'WSL'), system(OTHER, 'docker')]))).toEqual({ vmId: wsl });
  });

  it('falls back to the Id when the RuntimeId is missing or not a GUID', () => {
    expect(parseHcsComputeSystems(JSON.stringify([{ Id: WSL, Owner: 'WSL' }]))).toEqual({ vmId: wsl });
    expect(parseHcsComputeSystems(JSON.stringify([{ Id: WSL, Owner: 'WSL', RuntimeId: '' }]))).toEqual({ vmId: wsl });
  });

  it('says WSL is not running when no system is WSL\'s, and refuses to guess between two WSL VMs (two Windows users)', () => {
    expect(parseHcsComputeSystems('[]')).toEqual({ reason: 'lists 0 compute system(s), none owned by WSL: WSL is not running' });
    expect(parseHcsComputeSystems('')).toHaveProperty('reason');
    expect(parseHcsComputeSystems('null')).toHaveProperty('reason');
    expect(parseHcsComputeSystems(JSON.stringify([system(OTHER, 'docker')]))).toEqual({ reason: expect.stringMatching(/1 compute system\(s\), none owned by WSL/) });
    expect(parseHcsComputeSystems(JSON.stringify([system(WSL, 'WSL'), system(OTHER, 'WSL')]))).toEqual({
      reason: expect.stringMatching(/^2 WSL VMs run \(WSL runs one per Windows user\)/),
    });
  });

  it('reports a document that is not a list of systems instead of throwing', () => {
    expect(parseHcsComputeSystems('{oops')).toEqual({ reason: expect.stringMatching(/not JSON/) });
    expect(parseHcsComputeSystems('{"Id":"x"}')).toEqual({ reason: expect.stringMatching(/not a list of compute systems/) });
  });

  it("reads HCS's error document", () => {
    expect(hcsErrorMessage('{"Error":-2143878885,"ErrorMessage":"Insufficient privileges."}')).toBe('Insufficient privileges.');
    expect(hcsErrorMessage('')).toBe('');
  });
});

describe('VolatileStore\\ComputeSystem subkeys', () => {
  it('takes the one compute system whose ComputeSystemType is 2, among others', () => {
    expect(pickRegistryVmId([
      { name: OTHER, computeSystemType: 8 },
      { name: WSL, computeSystemType: 2 },
    ])).toEqual({ vmId: wsl });
  });

  it('refuses two of type 2 (WSL and another utility VM built like it) and reports none of type 2', () => {
    expect(pickRegistryVmId([
      { name: OTHER, computeSystemType: 2 },
      { name: WSL, computeSystemType: 2 },
    ])).toEqual({ reason: expect.stringMatching(/2 compute systems with ComputeSystemType 2/) });
    expect(pickRegistryVmId([{ name: OTHER, computeSystemType: 8 }])).toEqual({
      reason: expect.stringMatching(/none with ComputeSystemType 2.*WSL is not running/),
    });
  });

  it('without any ComputeSystemType value, takes a lone compute system and refuses to pick among several', () => {
    expect(pickRegistryVmId([{ name: WSL, computeSystemType: null }])).toEqual({ vmId: wsl });
    expect(pickRegistryVmId([
      { name: WSL, computeSystemType: null },
      { name: OTHER, computeSystemType: null },
    ])).toEqual({ reason: expect.stringMatching(/2 compute systems without a ComputeSystemType/) });
  });

  it('ignores subkeys that are not GUIDs and reports an empty key', () => {
    expect(pickRegistryVmId([{ name: 'Settings', computeSystemType: 2 }, { name: WSL, computeSystemType: 2 }])).toEqual({ vmId: wsl });
    expect(pickRegistryVmId([])).toEqual({ reason: expect.stringMatching(/no running compute system/) });
  });
});

describe('hcsdiag list', () => {
  // The shape hcsdiag prints: the name, then an indented "type, state, id, owner" line padded with spaces and a tab.
  const listing = [
    'cowork-vm-1699151a',
    `    VM,                       \tRunning, ${OTHER}, cowork-vm-1699151a`,
    WSL,
    `    VM,                       \tRunning, ${WSL}, WSL`,
    '',
  ].join('\r\n');

  it("takes the running VM that WSL owns", () => {
    expect(parseHcsdiagList(listing)).toEqual({ vmId: wsl });
  });

  it('skips stopped VMs and containers, and refuses two WSL VMs', () => {
    expect(parseHcsdiagList(`${WSL}\n    VM, Stopped, ${WSL}, WSL\n`)).toEqual({ reason: expect.stringMatching(/no running VM owned by WSL/) });
    expect(parseHcsdiagList(`x\n    Container, Running, ${OTHER}, WSL\n`)).toHaveProperty('reason');
    expect(parseHcsdiagList(`${listing}${OTHER}\n    VM, Running, ${OTHER}, WSL\n`)).toEqual({ reason: expect.stringMatching(/^2 WSL VMs run/) });
    expect(parseHcsdiagList('')).toHaveProperty('reason');
  });
});

describe('kernel release', () => {
  it('tells WSL 2 and WSL 1 from other Linux kernels', () => {
    expect(isWsl2Kernel('5.15.167.4-microsoft-standard-WSL2')).toBe(true);
    expect(isWsl2Kernel('6.6.87.2-microsoft-standard-WSL2+')).toBe(true);
    expect(isWsl2Kernel('6.1.0-27-amd64')).toBe(false);
    expect(isWsl1Kernel('4.4.0-19041-Microsoft')).toBe(true);
    expect(isWsl1Kernel('5.15.167.4-microsoft-standard-WSL2')).toBe(false);
    expect(isWsl1Kernel('6.1.0-27-amd64')).toBe(false);
  });
});
