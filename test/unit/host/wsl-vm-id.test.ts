// getWslVmId's order of sources and what it records, with every source
// replaced by recorded answers: no program runs, no registry or HCS is read.
import { describe, expect, it } from 'vitest';
import type { CommandOutcome, ComputeSystemListing, HcsAnswer, WslProbes } from '../../../src/host/wsl/probes.js';
import { ERR_WSL_VM_NOT_FOUND, followWslVmId, getWslVmId, HCS_E_ACCESS_DENIED, lookupWslVmId } from '../../../src/host/wsl/vm-id.js';
import { systemProgramPath } from '../../../src/host/system-programs.js';

const WSL = '5C0A7E2B-3F1D-4E8A-9B6C-1D2E3F405162';
const wsl = WSL.toLowerCase();
const OTHER = 'DE1517EC-BF1D-5A0B-B459-77A48CB1AD97';

const ok = (stdout: string): CommandOutcome => ({ exitCode: 0, stdout, stderr: '' });
const missing: CommandOutcome = { exitCode: null, stdout: '', stderr: '', error: 'ENOENT' };
const denied: HcsAnswer = {
  hresult: HCS_E_ACCESS_DENIED,
  document: '{"Error":-2143878885,"ErrorMessage":"Insufficient privileges. Only administrators or users that are members of the Hyper-V Administrators user group are permitted to access virtual machines or containers."}',
};

/** Probes answering from a table of recorded outputs, logging every call; unknown commands fail the test. */
function windows(answers: {
  commands?: Record<string, CommandOutcome>;
  registry?: ComputeSystemListing;
  hcs?: HcsAnswer;
}): { probes: Partial<WslProbes>; calls: string[] } {
  const calls: string[] = [];
  const probes: Partial<WslProbes> = {
    platform: 'win32',
    kernelRelease: '10.0.26100',
    env: {},
    // The Windows resolution itself, on a made-up machine whose Windows folder is D:\Win.
    programPath: (program) => systemProgramPath(program, { env: { SystemRoot: 'D:\\Win' }, arch: 'x64', exists: () => false }),
    run: async (file, args) => {
      const line = [file, ...args].join(' | ');
      calls.push(line);
      const answer = answers.commands?.[line];
      if (answer === undefined) throw new Error(`unexpected command: ${line}`);
      return answer;
    },
    readComputeSystems: () => {
      calls.push('registry');
      return answers.registry ?? { error: 'ENOENT' };
    },
    enumerateComputeSystems: async () => {
      calls.push('hcs');
      return answers.hcs ?? { missing: 'computecore.dll', error: 126 };
    },
  };
  return { probes, calls };
}

// Every program by its full path under the system folder, never a bare name the current folder could answer.
const LIST = 'D:\\Win\\System32\\wsl.exe | --list | --running | --quiet';
const ask = (distribution: string) => `D:\\Win\\System32\\wsl.exe | --distribution | ${distribution} | --exec | wslinfo | --vm-id`;
const HCSDIAG = 'D:\\Win\\System32\\hcsdiag.exe | list';

describe('getWslVmId on Windows', () => {
  it('asks wsl.exe first: wslinfo --vm-id in a running distribution, one argument per array element, and stops there', async () => {
    const { probes, calls } = windows({ commands: { [LIST]: ok('Ubuntu-24.04\r\n'), [ask('Ubuntu-24.04')]: ok(`${WSL}\n`) } });
    expect(await lookupWslVmId(probes)).toEqual({ vmId: wsl, source: 'wsl.exe', attempts: [] });
    expect(calls).toEqual([LIST, ask('Ubuntu-24.04')]);
  });

  it('skips a WSL 1 distribution for the next running one; a name with spaces and quotes stays one argument', async () => {
    const name = 'My "odd" distro';
    const { probes, calls } = windows({
      commands: { [LIST]: ok(`Legacy\r\n${name}\r\n`), [ask('Legacy')]: ok('wsl1\n'), [ask(name)]: ok(`${WSL}\n`) },
    });
    expect(await getWslVmId(probes)).toBe(wsl);
    expect(calls).toEqual([LIST, ask('Legacy'), ask(name)]);
  });

  it('never starts WSL: with no distribution running it asks none, and goes on to HCS', async () => {
    const { probes, calls } = windows({
      commands: { [LIST]: ok('') },
      hcs: { hresult: 0, document: JSON.stringify([{ Id: WSL, Owner: 'WSL', RuntimeId: WSL, State: 'Running' }]) },
    });
    const found = await lookupWslVmId(probes);
    expect(found).toEqual({
      vmId: wsl,
      source: 'hcs',
      attempts: [{ source: 'wsl.exe', reason: 'no WSL distribution is running (WSL is not started to ask)' }],
    });
    expect(calls).toEqual([LIST, 'hcs']);
  });

  it('a standard user: wsl.exe too old for --vm-id, HCS access denied, then the registry answers; hcsdiag is not run', async () => {
    const { probes, calls } = windows({
      commands: {
        [LIST]: ok('Ubuntu\r\n'),
        [ask('Ubuntu')]: { exitCode: 1, stdout: '', stderr: "Invalid command line argument: --vm-id\nPlease use 'wslinfo --help' to get a list of supported arguments.\n" },
      },
      hcs: denied,
      registry: { keys: [{ name: OTHER, computeSystemType: 8 }, { name: WSL, computeSystemType: 2 }] },
    });
    const found = await lookupWslVmId(probes);
    expect(found.vmId).toBe(wsl);
    expect(found.source).toBe('registry');
    expect(found.attempts.map((a) => a.source)).toEqual(['wsl.exe', 'hcs']);
    expect(found.attempts[0]?.reason).toMatch(/^Ubuntu: wslinfo --vm-id exited with code 1: Invalid command line argument: --vm-id.*wsl --update/);
    expect(found.attempts[1]?.reason).toMatch(/^HCS_E_ACCESS_DENIED \(0x8037011B\)/);
    expect(calls).toEqual([LIST, ask('Ubuntu'), 'hcs', 'registry']);
  });

  it('an administrator on a machine whose registry mirror is missing: hcsdiag list answers last', async () => {
    const { probes } = windows({
      commands: {
        [LIST]: missing,
        [HCSDIAG]: ok(`${WSL}\r\n    VM,                       \tRunning, ${WSL}, WSL\r\n`),
      },
      hcs: { hresult: 0, document: JSON.stringify([{ Id: OTHER, Owner: 'docker', RuntimeId: OTHER }]) },
    });
    const found = await lookupWslVmId(probes);
    expect(found).toMatchObject({ vmId: wsl, source: 'hcsdiag' });
    expect(found.attempts).toEqual([
      { source: 'wsl.exe', reason: 'wsl.exe --list --running: not found at D:\\Win\\System32\\wsl.exe: WSL is not installed' },
      { source: 'hcs', reason: expect.stringMatching(/^HcsEnumerateComputeSystems lists 1 compute system\(s\), none owned by WSL/) },
      { source: 'registry', reason: expect.stringMatching(/VolatileStore\\ComputeSystem does not exist.*rancher-desktop#3139/) },
    ]);
  });

  it('when every source fails, rejects with ERR_WSL_VM_NOT_FOUND listing all four in order (as under Wine)', async () => {
    const { probes, calls } = windows({ commands: { [LIST]: missing, [HCSDIAG]: missing } });
    const error = await lookupWslVmId(probes).then(() => undefined, (e: unknown) => e);
    expect(error).toMatchObject({
      code: ERR_WSL_VM_NOT_FOUND,
      attempts: [
        { source: 'wsl.exe', reason: expect.stringContaining('not found at D:\\Win\\System32\\wsl.exe') },
        { source: 'hcs', reason: expect.stringMatching(/^computecore\.dll could not be loaded \(Win32 error 126\)/) },
        { source: 'registry', reason: expect.stringMatching(/does not exist/) },
        { source: 'hcsdiag', reason: 'hcsdiag list: not found at D:\\Win\\System32\\hcsdiag.exe' },
      ],
    });
    expect((error as Error).message).toMatch(/^no running WSL 2 VM was found \(wsl\.exe: .*; hcs: .*; registry: .*; hcsdiag: .*\)$/);
    expect(calls).toEqual([LIST, 'hcs', 'registry', HCSDIAG]);
  });

  it('records a non-admin hcsdiag, an HCS failure code, an unreadable key and a probe that throws', async () => {
    const { probes } = windows({
      commands: {
        [LIST]: { exitCode: null, stdout: '', stderr: '', error: 'ETIMEDOUT' },
        [HCSDIAG]: { exitCode: 1, stdout: 'Only administrators or users that are members of the Hyper-V Administrators user group are permitted', stderr: '' },
      },
      hcs: { hresult: 0x80370114, document: '{"ErrorMessage":"The operation could not be started because a required feature is not installed."}' },
      registry: { error: 'EACCES' },
    });
    const error = (await lookupWslVmId(probes).catch((e: unknown) => e)) as { attempts: Array<{ reason: string }> };
    expect(error.attempts.map((a) => a.reason)).toEqual([
      'wsl.exe --list --running did not finish (ETIMEDOUT)',
      'HcsEnumerateComputeSystems failed with 0x80370114: The operation could not be started because a required feature is not installed.',
      expect.stringMatching(/could not be read \(EACCES\)/),
      expect.stringMatching(/^hcsdiag list exited with code 1: Only administrators.* \(it needs an elevated prompt\)$/),
    ]);
    const throwing = windows({ commands: { [LIST]: missing, [HCSDIAG]: missing } }).probes;
    throwing.enumerateComputeSystems = () => Promise.reject(new Error('addon refused'));
    const second = (await lookupWslVmId(throwing).catch((e: unknown) => e)) as { attempts: Array<{ source: string; reason: string }> };
    expect(second.attempts[1]).toEqual({ source: 'hcs', reason: 'failed: addon refused' });
  });
});

describe('getWslVmId elsewhere', () => {
  const noCommands = async (file: string): Promise<CommandOutcome> => {
    throw new Error(`nothing may run here, but ${file} was`);
  };

  it('inside WSL 2: $WSL2_VM_ID first, without running anything', async () => {
    const found = await lookupWslVmId({ platform: 'linux', kernelRelease: '5.15.167.4-microsoft-standard-WSL2', env: { WSL2_VM_ID: WSL }, run: noCommands });
    expect(found).toEqual({ vmId: wsl, source: 'env', attempts: [] });
  });

  it('inside a WSL 2 user distribution (no $WSL2_VM_ID): wslinfo --vm-id, the VM it runs in', async () => {
    const calls: string[] = [];
    const found = await lookupWslVmId({
      platform: 'linux',
      kernelRelease: '6.6.87.2-microsoft-standard-WSL2',
      env: {},
      run: async (file, args) => {
        calls.push([file, ...args].join(' '));
        return ok(`${WSL}\n`);
      },
    });
    expect(found).toMatchObject({ vmId: wsl, source: 'wslinfo', attempts: [{ source: 'env', reason: expect.stringMatching(/WSL2_VM_ID is not set/) }] });
    expect(calls).toEqual(['wslinfo --vm-id']);
  });

  it('inside WSL 2 without wslinfo: both reasons', async () => {
    const error = await lookupWslVmId({ platform: 'linux', kernelRelease: '5.15.90.1-microsoft-standard-WSL2', env: { WSL2_VM_ID: 'nope' }, run: async () => missing }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: ERR_WSL_VM_NOT_FOUND,
      attempts: [
        { source: 'env', reason: 'WSL2_VM_ID is "nope", not a GUID' },
        { source: 'wslinfo', reason: 'wslinfo --vm-id was not found (ENOENT)' },
      ],
    });
  });

  it('on other Linux machines, in WSL 1 and on macOS: the typed error, and nothing runs', async () => {
    for (const [platform, kernelRelease, reason] of [
      ['linux', '6.1.0-27-amd64', /neither Windows nor a WSL 2 distribution/],
      ['linux', '4.4.0-19041-Microsoft', /WSL 1 .* wsl --set-version <distribution> 2/],
      ['darwin', '23.6.0', /this is darwin/],
    ] as const) {
      const error = await lookupWslVmId({ platform, kernelRelease, env: {}, run: noCommands }).catch((e: unknown) => e);
      expect(error, `${platform} ${kernelRelease}`).toMatchObject({ code: ERR_WSL_VM_NOT_FOUND, attempts: [{ source: 'platform', reason: expect.stringMatching(reason) }] });
    }
  });
});

describe('followWslVmId (what a WSL server checks every few seconds)', () => {
  it('keeps the bound ID while the registry mirror lists it, running nothing', async () => {
    const { probes, calls } = windows({ registry: { keys: [{ name: WSL, computeSystemType: 2 }] } });
    expect(await followWslVmId(wsl, probes)).toBe(wsl);
    expect(calls).toEqual(['registry']);
  });

  it('looks the ID up again once the mirror no longer lists it, or cannot be read', async () => {
    const restarted = windows({
      commands: { [LIST]: ok('Ubuntu\n'), [ask('Ubuntu')]: ok(`${OTHER}\n`) },
      registry: { keys: [{ name: OTHER, computeSystemType: 2 }] },
    });
    expect(await followWslVmId(wsl, restarted.probes)).toBe(OTHER.toLowerCase());
    expect(restarted.calls).toEqual(['registry', LIST, ask('Ubuntu')]);
    const unreadable = windows({ commands: { [LIST]: ok('Ubuntu\n'), [ask('Ubuntu')]: ok(`${WSL}\n`) }, registry: { error: 'EACCES' } });
    expect(await followWslVmId(wsl, unreadable.probes)).toBe(wsl);
    expect(unreadable.calls).toEqual(['registry', LIST, ask('Ubuntu')]);
  });

  it('with nothing bound yet, does the full lookup', async () => {
    const { probes, calls } = windows({ commands: { [LIST]: ok('') }, hcs: denied, registry: { keys: [{ name: WSL, computeSystemType: 2 }] } });
    expect(await followWslVmId(null, probes)).toBe(wsl);
    expect(calls).toEqual([LIST, 'hcs', 'registry']);
  });
});
