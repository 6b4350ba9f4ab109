// The wsl: address form, where it is refused, `hvsock wsl`, and doctor's
// judgement inside WSL 2 — on this (non-WSL) Linux machine, where none of it
// may run a program or open a socket.
import { describe, expect, it } from 'vitest';
import { resolveAddress } from '../../../src/address/address.js';
import { diagnose, formatReport, type DoctorFacts } from '../../../src/cli/doctor.js';
import { EXIT_UNAVAILABLE, exitCodeFor } from '../../../src/cli/exit-codes.js';
import { main } from '../../../src/cli/main.js';
import { withWslVmId } from '../../../src/cli/wsl.js';
import { parseAddress } from '../../../src/address/text.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

describe('the wsl: address form', () => {
  it('parses to { wsl: true } with the service, case-insensitively', () => {
    expect(parseAddress('wsl:5000')).toEqual({ wsl: true, port: 5000 });
    expect(parseAddress('WSL:0x1388')).toEqual({ wsl: true, port: 5000 });
    expect(parseAddress('wsl:00001388-facb-11e6-bd58-64006a7986d3')).toEqual({ wsl: true, serviceId: '00001388-facb-11e6-bd58-64006a7986d3' });
    expect(() => parseAddress('wsl2:5000')).toThrow(expect.objectContaining({ message: expect.stringMatching(/silohost, wsl/) }));
  });

  it('is refused where it would silently mean another machine: connect addresses and resolveAddress', () => {
    for (const platform of ['linux', 'win32'] as const) {
      expect(() => resolveAddress({ wsl: true, port: 5000 }, 'connect', platform)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE', message: expect.stringMatching(/options\.wsl.*getWslVmId/) }),
      );
    }
    expect(resolveAddress({ wsl: false, port: 5000 }, 'connect', 'win32').address.port).toBe(5000);
  });

  it('on Linux, says what to write instead: parent: (CID 2) for Windows, any: to listen', async () => {
    await expect(withWslVmId(parseAddress('wsl:5000'), 'linux')).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_VALUE',
      message: expect.stringMatching(/parent:<port> \(CID 2\).*any:<port>/),
    });
    expect(await withWslVmId(parseAddress('parent:5000'), 'linux')).toEqual(parseAddress('parent:5000'));
  });
});

describe('hvsock wsl and wsl: on the command line (Linux)', () => {
  it('connect wsl:5000 and listen wsl:5000 are usage errors (exit 2) naming parent:, before any socket', async () => {
    for (const command of ['connect', 'listen']) {
      const { io, err } = capture();
      expect(await main([command, 'wsl:5000'], io, { platform: 'linux' }), command).toBe(2);
      expect(err.join('\n')).toBe(
        `hvsock ${command}: address "wsl:5000" names WSL 2's VM, which only its Windows host can address: inside WSL, reach Windows with parent:<port> (CID 2) and listen on any:<port>`,
      );
    }
  });

  it('wsl takes exactly one action, id', async () => {
    const cases: Array<[string[], string]> = [
      [['wsl'], 'hvsock wsl: needs an action: id (see hvsock help wsl)'],
      [['wsl', 'id', 'x'], 'hvsock wsl id: unexpected argument "x" (see hvsock help wsl)'],
      [['wsl', 'frob'], 'hvsock wsl: unknown action "frob": wsl takes id (see hvsock help wsl)'],
    ];
    for (const [argv, message] of cases) {
      const { io, err } = capture();
      expect(await main([...argv], io), argv.join(' ')).toBe(2);
      expect(err.join('\n')).toBe(message);
    }
    const { io, out } = capture();
    expect(await main(['wsl', '--help'], io)).toBe(0);
    expect(out.join('\n')).toMatch(/^Usage: hvsock wsl id \[--json\]/);
    expect(out.join('\n')).toMatch(/HKLM\\\.\.\.\\HostComputeService\\VolatileStore\\ComputeSystem/);
  });

  it('a wsl: lookup that finds nothing (connect, bench on Windows) exits 3, "not available here"', () => {
    expect(exitCodeFor(Object.assign(new Error('no running WSL 2 VM was found'), { code: 'ERR_WSL_VM_NOT_FOUND' }))).toBe(EXIT_UNAVAILABLE);
  });

  it('wsl id outside Windows and WSL exits 3 with the reason, as text and as JSON, running nothing', async () => {
    const text = capture();
    expect(await main(['wsl', 'id'], text.io)).toBe(3);
    expect(text.err.join('\n')).toMatch(/^hvsock wsl id: no running WSL 2 VM was found:\n {2}platform: WSL 2 runs on Windows; this is linux/);
    const json = capture();
    expect(await main(['wsl', 'id', '--json'], json.io)).toBe(3);
    expect(JSON.parse(json.out.join(''))).toEqual({
      vmId: null,
      code: 'ERR_WSL_VM_NOT_FOUND',
      attempts: [{ source: 'platform', reason: expect.stringMatching(/neither Windows nor a WSL 2 distribution/) }],
    });
  });
});

const none = { vsock_loopback: false, vmw_vsock_virtio_transport: false, hv_sock: false, vmw_vsock_vmci_transport: false, vhost_vsock: false };
const linux = (release: string, extra: Partial<DoctorFacts> = {}): DoctorFacts => ({
  platform: 'linux',
  release,
  arch: 'x64',
  node: 'v22.12.0',
  hvsock: '0.1.0',
  sockets: true,
  transports: { ...none, hv_sock: true },
  localCid: 0xffffffff,
  ...extra,
});

describe('hvsock doctor inside WSL', () => {
  it('WSL 2: recognised by its kernel, local CID "any", and what the Windows side must do', () => {
    const report = diagnose(linux('5.15.167.4-microsoft-standard-WSL2'));
    expect(report).toMatchObject({ wsl: 'wsl2', role: 'guest', localCid: 'any' });
    const text = formatReport(report);
    expect(text).toMatch(/^inside: {4}WSL 2$/m);
    expect(text).toMatch(/^local CID: any$/m);
    expect(text).toMatch(/^loopback: {2}none: WSL 2 has no vsock loopback$/m);
    expect(text).toMatch(/^parent: {4}CID 2 is this machine's host, through the guest transport$/m);
    expect(text).not.toMatch(/4294967295/);
    expect(JSON.stringify(report)).not.toMatch(/4294967295/);
    const advice = report.advice.join('\n');
    expect(advice).toMatch(/reach Windows with parent:<port> \(CID 2\)/);
    expect(advice).toMatch(/must bind WSL's VM ID, not any or children \(a wildcard listener never sees WSL's connections\)/);
    expect(advice).toMatch(/hvsock wsl id \(getWslVmId\(\)\)/);
    expect(advice).toMatch(/same Windows user who started WSL/);
    expect(advice).toMatch(/no service registration is needed/);
    expect(advice).toMatch(/hvsock connect wsl:<port>/);
    // The plain Hyper-V guest's advice (register the service on the host) is wrong for WSL.
    expect(advice).not.toMatch(/hvsock service register/);
  });

  it('a plain Hyper-V guest still gets the registration advice, and CID ANY reads "any" there too', () => {
    const report = diagnose(linux('6.1.0-27-amd64'));
    expect(report).toMatchObject({ wsl: null, localCid: 'any' });
    expect(report.advice.join('\n')).toMatch(/hvsock service register/);
    expect(report.advice.join('\n')).not.toMatch(/Peers reach this machine at CID/);
    expect(diagnose(linux('6.1.0-27-amd64', { localCid: 3 })).advice.join('\n')).toMatch(/Peers reach this machine at CID 3\./);
  });

  it('WSL 1: no vsock, convert the distribution', () => {
    const report = diagnose(linux('4.4.0-19041-Microsoft', { sockets: 'EAFNOSUPPORT', transports: none, localCid: 'ENODEV' }));
    expect(report.wsl).toBe('wsl1');
    expect(report.advice[0]).toMatch(/wsl --set-version <distribution> 2/);
  });

  it('on Windows with Hyper-V sockets, the WSL exception is spelled out', () => {
    const report = diagnose({ platform: 'win32', release: '10.0.26100', arch: 'x64', node: 'v22.12.0', hvsock: '0.1.0', sockets: true, elevated: false, services: [] });
    expect(report.wsl).toBeNull();
    expect(report.advice.join('\n')).toMatch(/WSL 2 is the exception: .*hvsock listen wsl:<port>/);
  });
});
