import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { diagnose, type DoctorFacts } from '../../src/cli/doctor.js';
import { EXIT_FAILURE, EXIT_UNAVAILABLE, EXIT_USAGE, exitCodeFor } from '../../src/cli/exit-codes.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

const none = { vsock_loopback: false, vmw_vsock_virtio_transport: false, hv_sock: false, vmw_vsock_vmci_transport: false, vhost_vsock: false };
const linux = (transports: Partial<typeof none>, extra: Partial<DoctorFacts> = {}): DoctorFacts => ({
  platform: 'linux',
  release: '6.1.0',
  arch: 'x64',
  node: 'v20.20.2',
  hvsock: '0.1.0',
  sockets: true,
  transports: { ...none, ...transports },
  localCid: 3,
  ...extra,
});

describe('hvsock CLI: command line', () => {
  it('prints help for the tool and for each command, exit 0', async () => {
    for (const argv of [['--help'], ['listen', '--help'], ['connect', '-h'], ['echo', '--help'], ['doctor', '--help'], ['service', '--help'], ['vm', '--help'], ['bench', '--help']]) {
      const { io, out } = capture();
      expect(await main(argv, io)).toBe(0);
      expect(out.join('\n')).toMatch(/^Usage: hvsock/);
    }
  });

  it('refuses bad command lines with exit 2 and the relevant help, before touching any socket', async () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /no command/],
      [['frobnicate'], /unknown command "frobnicate"/],
      [['connect'], /connect takes one address/],
      [['connect', 'a', 'b'], /connect takes one address/],
      [['listen', '--nope', '5000'], /Unknown option '--nope'/],
      [['connect', 'mars:5000'], /machine "mars"/],
      [['listen', 'parent:http'], /service "http"/],
      [['doctor', 'extra'], /unexpected argument "extra"/],
      [['vm', 'id'], /vm id takes one VM name/],
      [['bench', '--mib', '0', '5000'], /--mib must be a whole number/],
      [['bench', '--rounds', 'lots', '5000'], /--rounds must be a whole number/],
      [['bench'], /bench takes one address/],
      [['vm', 'nested', 'a', '--enable', '--disable'], /--enable and --disable together/],
      [['vm', 'list', '--enable'], /belong to vm nested/],
      [['service', 'register'], /takes --name/],
      [['service', 'unregister'], /one GUID or port/],
      [['service', 'frob'], /register, list or unregister/],
    ];
    for (const [argv, message] of cases) {
      const { io, err } = capture();
      expect(await main(argv, io), argv.join(' ')).toBe(EXIT_USAGE);
      expect(err.join('\n')).toMatch(message);
      expect(err.join('\n')).toMatch(/Usage: hvsock/);
    }
  });

  it('maps errors onto the documented exit codes', () => {
    expect(exitCodeFor(Object.assign(new Error(), { code: 'ECONNREFUSED' }))).toBe(EXIT_FAILURE);
    expect(exitCodeFor(Object.assign(new Error(), { code: 'ERR_INVALID_ARG_VALUE' }))).toBe(EXIT_USAGE);
    expect(exitCodeFor(Object.assign(new Error(), { code: 'EAFNOSUPPORT' }))).toBe(EXIT_UNAVAILABLE);
    expect(exitCodeFor(new Error('no code'))).toBe(EXIT_FAILURE);
  });
});

describe('hvsock doctor: judging the facts', () => {
  it('a Hyper-V guest: role guest, how to reach the host and register the service', () => {
    const report = diagnose(linux({ hv_sock: true }));
    expect(report).toMatchObject({ family: 'AF_VSOCK', role: 'guest', loopback: false });
    expect(report.advice.join('\n')).toMatch(/parent:<port>/);
    expect(report.advice.join('\n')).toMatch(/hvsock service register/);
  });

  it('both a guest and a host transport: nested, where toHost matters', () => {
    const report = diagnose(linux({ vmw_vsock_virtio_transport: true, vhost_vsock: true }));
    expect(report.role).toBe('nested');
    expect(report.advice.join('\n')).toMatch(/VMADDR_FLAG_TO_HOST/);
  });

  it('a host, a loopback-only machine, and one with vsock but no transport', () => {
    expect(diagnose(linux({ vhost_vsock: true })).role).toBe('host');
    const loop = diagnose(linux({ vsock_loopback: true }, { localCid: 1 }));
    expect(loop).toMatchObject({ role: 'none', loopback: true });
    expect(loop.advice.join('\n')).toMatch(/loopback:<port>/);
    expect(diagnose(linux({})).advice.join('\n')).toMatch(/no transport is loaded/);
  });

  it('no vsock at all, Windows without Hyper-V sockets, and other OSes', () => {
    expect(diagnose(linux({}, { sockets: 'EAFNOSUPPORT' })).advice[0]).toMatch(/fails with EAFNOSUPPORT/);
    const win = diagnose({ platform: 'win32', release: '10.0', arch: 'x64', node: 'v20', hvsock: '0.1.0', sockets: 'EAFNOSUPPORT' });
    expect(win).toMatchObject({ family: 'AF_HYPERV', role: 'none' });
    expect(win.advice[0]).toMatch(/Windows 10/);
    expect(diagnose({ platform: 'darwin', release: '23', arch: 'arm64', node: 'v20', hvsock: '0.1.0', sockets: 'EAFNOSUPPORT' }).family).toBeNull();
  });
});
