import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.js';
import { COMMANDS, OPTION_TYPES, hasActions, optionsOf, type CommandSpec, type OptionName } from '../../../src/cli/commands.js';
import { diagnose, formatReport, type DoctorFacts } from '../../../src/cli/doctor.js';
import { HELP } from '../../../src/cli/help.js';
import { EXIT_FAILURE, EXIT_UNAVAILABLE, EXIT_USAGE, exitCodeFor } from '../../../src/cli/exit-codes.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

/** Runs a command line as this Linux machine; nothing here may reach a socket (each is refused first). */
async function hvsock(argv: string[], platform: NodeJS.Platform = 'linux') {
  const { io, out, err } = capture();
  const code = await main(argv, io, { platform });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const VERSION = (JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version: string }).version;

/** Every command as typed, with the spec it is checked against: 'listen', 'service register'… */
const PATHS: Array<{ command: string; path: string; spec: CommandSpec }> = Object.entries(COMMANDS).flatMap(([command, entry]) =>
  hasActions(entry)
    ? Object.entries(entry.actions).map(([action, spec]) => ({ command, path: `${command} ${action}`, spec }))
    : [{ command, path: command, spec: entry }],
);

/** Arguments that satisfy a spec's count, valid in themselves. */
function argsFor(spec: CommandSpec): string[] {
  return spec.args.map((name) => (name === 'the address' ? 'loopback:5000' : name.startsWith('the service') ? '5000' : 'MyVM'));
}

/** The options as a help text lists them: on its Usage lines and its indented option lines. */
function optionsInHelp(text: string): Set<string> {
  const lines = text.split('\n').filter((line) => /^(Usage: |\s+hvsock )/.test(line) || /^\s+(-\w, )?--[a-z]/.test(line));
  return new Set(lines.flatMap((line) => [...line.matchAll(/--([a-z][a-z-]*)/g)].map((m) => m[1] as string)));
}

describe('hvsock --version and help', () => {
  it('--version and -v print the package version, exit 0', async () => {
    for (const flag of ['--version', '-v']) {
      expect(await hvsock([flag]), flag).toEqual({ code: 0, out: VERSION, err: '' });
    }
  });

  it('help, --help and -h print the tool\'s help, exit 0', async () => {
    for (const argv of [['help'], ['--help'], ['-h'], ['help', 'help']]) {
      const r = await hvsock(argv);
      expect(r, argv.join(' ')).toEqual({ code: 0, out: HELP[''], err: '' });
    }
    expect(HELP['']).toMatch(/^Usage: hvsock <command>/);
    expect(HELP['']).toMatch(/hvsock help \[<command>\]/);
    expect(HELP['']).toMatch(/hvsock --version/);
    expect(HELP['']).toMatch(/Exit codes: 0 ok, 1 system error, 2 usage error, 3 not available on this machine/);
  });

  it('help <command> is exactly <command> --help, for every command and action, exit 0', async () => {
    for (const { command, path } of PATHS) {
      const text = HELP[command] as string;
      expect(text, command).toMatch(new RegExp(`^Usage: hvsock ${command}\\b`));
      expect(await hvsock(['help', command]), `help ${command}`).toEqual({ code: 0, out: text, err: '' });
      expect(await hvsock([command, '--help']), `${command} --help`).toEqual({ code: 0, out: text, err: '' });
      expect(await hvsock(['help', ...path.split(' ')]), `help ${path}`).toEqual({ code: 0, out: text, err: '' });
      expect(await hvsock([...path.split(' '), '-h']), `${path} -h`).toEqual({ code: 0, out: text, err: '' });
    }
  });

  it('help for an unknown command, or with too much after it, is a usage error (exit 2)', async () => {
    expect(await hvsock(['help', 'frobnicate'])).toEqual({ code: EXIT_USAGE, out: '', err: 'hvsock help: unknown command "frobnicate" (see hvsock help)' });
    expect(await hvsock(['frobnicate', '--help'])).toEqual({ code: EXIT_USAGE, out: '', err: 'hvsock: unknown command "frobnicate" (see hvsock help)' });
    expect(await hvsock(['help', 'doctor', 'extra'])).toEqual({ code: EXIT_USAGE, out: '', err: 'hvsock help: unexpected argument "extra" (see hvsock help doctor)' });
    expect(await hvsock(['help', 'service', 'frob'])).toEqual({ code: EXIT_USAGE, out: '', err: 'hvsock help: unexpected argument "frob" (see hvsock help service)' });
    expect(await hvsock(['help', '--json'])).toEqual({ code: EXIT_USAGE, out: '', err: 'hvsock help: --json is not an option of help, which takes a command name (see hvsock help)' });
  });

  it('each command\'s help lists exactly the options it takes', () => {
    for (const command of Object.keys(COMMANDS)) {
      expect(optionsInHelp(HELP[command] as string), command).toEqual(new Set<string>(optionsOf(command)));
    }
  });
});

describe('hvsock command lines checked per command (exit 2, before anything runs)', () => {
  it('no command: the tool\'s help on stderr', async () => {
    expect(await hvsock([])).toEqual({ code: EXIT_USAGE, out: '', err: `hvsock: no command given\n\n${HELP['']}` });
    expect(await hvsock(['frobnicate'])).toEqual({ code: EXIT_USAGE, out: '', err: 'hvsock: unknown command "frobnicate" (see hvsock help)' });
    expect(await hvsock(['--json'])).toEqual({ code: EXIT_USAGE, out: '', err: 'hvsock: --json needs a command (see hvsock help)' });
    expect(await hvsock(['--nope'])).toEqual({ code: EXIT_USAGE, out: '', err: 'hvsock: --nope is not an option (see hvsock help)' });
  });

  it('doctor --keep-open --name foo --mib 5: options of other commands are refused, the first named', async () => {
    expect(await hvsock(['doctor', '--keep-open', '--name', 'foo', '--mib', '5'])).toEqual({
      code: EXIT_USAGE,
      out: '',
      err: 'hvsock doctor: --keep-open is not an option of doctor, which takes --json (see hvsock help doctor)',
    });
  });

  it('an option another command takes is refused by every command and action, naming both', async () => {
    const all: OptionName[] = [...new Set(PATHS.flatMap(({ spec }) => spec.options))];
    expect(all.length).toBe(17);
    for (const { command, path, spec } of PATHS) {
      const foreign = all.filter((option) => !spec.options.includes(option));
      expect(foreign.length, path).toBeGreaterThan(0);
      for (const option of foreign) {
        const value = OPTION_TYPES[option].type === 'string' ? ['5'] : [];
        const r = await hvsock([...path.split(' '), `--${option}`, ...value, ...argsFor(spec)]);
        const takes = spec.options.length === 0 ? 'no options' : spec.options.map((o) => `--${o}`).join(', ').replace(/, ([^,]+)$/, ' or $1');
        expect(r, `${path} --${option}`).toEqual({
          code: EXIT_USAGE,
          out: '',
          err: `hvsock ${path}: --${option} is not an option of ${path}, which takes ${takes} (see hvsock help ${command})`,
        });
      }
    }
  });

  it('unknown options, short ones as typed, and --version after a command', async () => {
    expect((await hvsock(['listen', '--nope', '5000'])).err).toBe('hvsock listen: --nope is not an option of listen, which takes --keep-open (see hvsock help listen)');
    expect((await hvsock(['doctor', '-k'])).err).toBe('hvsock doctor: -k is not an option of doctor, which takes --json (see hvsock help doctor)');
    expect((await hvsock(['listen', '--version', '5000'])).err).toBe('hvsock listen: --version is not an option of listen, which takes --keep-open (see hvsock help listen)');
    expect((await hvsock(['bench', '--json', '--mib', '8', '--rounds', '9', '--wait', '1', '5000'])).err).toBe(
      'hvsock bench: --wait is not an option of bench, which takes --mib, --rounds or --json (see hvsock help bench)',
    );
  });

  it('an option\'s value: missing, or given to one that takes none', async () => {
    const cases: Array<[string[], string]> = [
      [['connect', '5000', '--wait'], 'hvsock connect: --wait needs a value (see hvsock help connect)'],
      [['connect', '--wait', '--help-me', '5000'], 'hvsock connect: --wait needs a value (see hvsock help connect)'],
      [['service', 'register', '--name'], 'hvsock service register: --name needs a value (see hvsock help service)'],
      [['doctor', '--json=yes'], 'hvsock doctor: --json takes no value, got "yes" (see hvsock help doctor)'],
      [['listen', '--keep-open=1', '5000'], 'hvsock listen: --keep-open takes no value, got "1" (see hvsock help listen)'],
    ];
    for (const [argv, message] of cases) expect(await hvsock(argv), argv.join(' ')).toEqual({ code: EXIT_USAGE, out: '', err: message });
  });

  it('missing and extra arguments, for every command and action', async () => {
    for (const { command, path, spec } of PATHS) {
      const words = path.split(' ');
      const args = argsFor(spec);
      if (spec.args.length > 0) {
        expect(await hvsock(words), path).toEqual({ code: EXIT_USAGE, out: '', err: `hvsock ${path}: missing ${spec.args[0]} (see hvsock help ${command})` });
      }
      // forward takes pairs: an odd one out is its own message (test/unit/forward/cli.test.ts).
      if (spec.rest !== undefined) continue;
      expect(await hvsock([...words, ...args, 'extra']), `${path} … extra`).toEqual({
        code: EXIT_USAGE,
        out: '',
        err: `hvsock ${path}: unexpected argument "extra" (see hvsock help ${command})`,
      });
    }
  });

  it('commands with actions: a missing or unknown action', async () => {
    const cases: Array<[string[], string]> = [
      [['service'], 'hvsock service: needs an action: register, list or unregister (see hvsock help service)'],
      [['service', 'frob'], 'hvsock service: unknown action "frob": service takes register, list or unregister (see hvsock help service)'],
      [['vm'], 'hvsock vm: needs an action: list, id or nested (see hvsock help vm)'],
      [['vm', 'start', 'MyVM'], 'hvsock vm: unknown action "start": vm takes list, id or nested (see hvsock help vm)'],
      [['wsl'], 'hvsock wsl: needs an action: id (see hvsock help wsl)'],
      [['wsl', 'frob'], 'hvsock wsl: unknown action "frob": wsl takes id (see hvsock help wsl)'],
    ];
    for (const [argv, message] of cases) expect(await hvsock(argv), argv.join(' ')).toEqual({ code: EXIT_USAGE, out: '', err: message });
  });

  it('values: --mib, --rounds, --wait, --service-id, --name, the VM name, --enable with --disable', async () => {
    const cases: Array<[string[], string]> = [
      [['bench', '--mib', '0', '5000'], 'hvsock bench: --mib must be a whole number from 1 to 1000000, got "0"'],
      [['bench', '--mib', '1.5', '5000'], 'hvsock bench: --mib must be a whole number from 1 to 1000000, got "1.5"'],
      [['bench', '--mib', '1000001', '5000'], 'hvsock bench: --mib must be a whole number from 1 to 1000000, got "1000001"'],
      [['bench', '--rounds', 'lots', '5000'], 'hvsock bench: --rounds must be a whole number from 1 to 1000000, got "lots"'],
      [['bench', '--rounds', '-5', '5000'], 'hvsock bench: --rounds must be a whole number from 1 to 1000000, got "-5"'],
      [['connect', '--wait', 'soon', '5000'], 'hvsock connect: --wait must be a number of seconds from 0 to 1000000, got "soon"'],
      [['connect', '-w', '-1', '5000'], 'hvsock connect: --wait must be a number of seconds from 0 to 1000000, got "-1"'],
      [['service', 'register', '--name', 'x', '--service-id', 'bogus'], 'hvsock service register: --service-id must be a GUID or a port (0 to 0x7FFFFFFF), got "bogus"'],
      [['service', 'register', '--name', 'x', '--service-id', '0x80000000'], 'hvsock service register: --service-id must be a GUID or a port (0 to 0x7FFFFFFF), got "0x80000000"'],
      [['service', 'register', '--name', '', '--service-id', '5000'], 'hvsock service register: --name must be a non-empty name without NUL characters'],
      [['service', 'register'], 'hvsock service register: needs --name <name> (see hvsock help service)'],
      [['service', 'unregister', 'bogus'], 'hvsock service unregister: the service must be a GUID or a port (0 to 0x7FFFFFFF), got "bogus"'],
      [['vm', 'id', ''], 'hvsock vm id: the VM name must be non-empty, without NUL characters'],
      [['vm', 'nested', 'MyVM', '--enable', '--disable'], 'hvsock vm nested: --enable and --disable together: choose one'],
    ];
    for (const [argv, message] of cases) {
      const r = await hvsock(argv);
      expect(r, argv.join(' ')).toEqual({ code: EXIT_USAGE, out: '', err: message });
      expect(r.err).not.toMatch(/options\.|The (argument|property)/);
    }
  });

  it('addresses: the text typed is named, checked for this OS before any socket exists', async () => {
    const cases: Array<[string[], NodeJS.Platform, string]> = [
      [['connect', 'mars:5000'], 'linux', 'hvsock connect: address "mars:5000" has machine "mars", which is not a machine: write the machine as a CID, a VM GUID or one of loopback, parent, host, any, wildcard, children, silohost, wsl (the host is parent)'],
      [['connect', '10.0.0.5:5000'], 'linux', 'hvsock connect: address "10.0.0.5:5000" has machine "10.0.0.5", which is an IP address, but Hyper-V sockets reach machines by CID or VM ID, not by IP: write the machine as a CID, a VM GUID or one of loopback, parent, host, any, wildcard, children, silohost, wsl (the host is parent)'],
      [['connect', 'localhost:5000'], 'linux', 'hvsock connect: address "localhost:5000" has machine "localhost", which is a host name: for this machine write loopback; otherwise write the machine as a CID, a VM GUID or one of loopback, parent, host, any, wildcard, children, silohost, wsl (the host is parent)'],
      [['listen', 'parent:http'], 'linux', 'hvsock listen: address "parent:http" has service "http", which is neither a port (0 to 0xFFFFFFFF) nor a GUID'],
      [['connect', 'a:b:c'], 'linux', 'hvsock connect: address "a:b:c" must be [machine:]service, e.g. parent:5000 or <vm-guid>:<service-guid>'],
      [['connect', 'any:5000'], 'linux', 'hvsock connect: address "any:5000": machine "any" is a listen wildcard, not a connect target'],
      [['bench', 'children:5000'], 'linux', 'hvsock bench: address "children:5000": machine "children" is a listen wildcard, not a connect target'],
      [['connect', '0'], 'linux', 'hvsock connect: address "0": service "0" is not a connect target'],
      [['echo', '3:5000'], 'win32', 'hvsock echo: address "3:5000": machine "3" has no meaning on Windows: Hyper-V addresses VMs by GUID ((Get-VM -Name X).Id); only CIDs 1, 2 and VMADDR_CID_ANY map'],
      [['listen', '0x80000000'], 'win32', 'hvsock listen: address "0x80000000": service "0x80000000" is out of range: it must be from 1 to 2147483647'],
      [['listen', '0'], 'win32', 'hvsock listen: address "0": service "0" cannot pick a free service on Windows: Hyper-V sockets have no ephemeral services; choose a port or serviceId'],
    ];
    for (const [argv, platform, message] of cases) {
      const r = await hvsock(argv, platform);
      expect(r, `${argv.join(' ')} on ${platform}`).toEqual({ code: EXIT_USAGE, out: '', err: message });
    }
  });

  it('--help wins over everything else on the line', async () => {
    expect(await hvsock(['doctor', '--keep-open', '--help'])).toEqual({ code: 0, out: HELP.doctor, err: '' });
    expect(await hvsock(['connect', '--wait', 'x', '-h'])).toEqual({ code: 0, out: HELP.connect, err: '' });
  });
});

describe('Windows-host commands elsewhere (exit 3, before anything is tried)', () => {
  const cases: Array<[string[], string]> = [
    [['service', 'list'], 'Hyper-V service registration'],
    [['service', 'list', '--json'], 'Hyper-V service registration'],
    [['service', 'register', '--name', 'test service', '--service-id', '5000'], 'Hyper-V service registration'],
    [['service', 'unregister', '5000'], 'Hyper-V service registration'],
    [['vm', 'list'], 'Hyper-V VM management'],
    [['vm', 'id', 'MyVM', '--json'], 'Hyper-V VM management'],
    [['vm', 'nested', 'MyVM', '--enable'], 'Hyper-V VM management'],
  ];
  for (const platform of ['linux', 'darwin'] as const) {
    it(`on ${platform}: says it is a Windows-host command, in the CLI's words`, async () => {
      for (const [argv, what] of cases) {
        const path = argv.slice(0, 2).join(' ');
        const r = await hvsock(argv, platform);
        expect(r, argv.join(' ')).toEqual({ code: EXIT_UNAVAILABLE, out: '', err: `hvsock ${path}: ${what} is a Windows-host command; this machine runs ${platform}` });
        expect(r.err).not.toMatch(/ENOSYS|RegOpenKeyExW|powershell/);
      }
    });
  }

  it('a usage error still wins over the platform (exit 2)', async () => {
    expect((await hvsock(['service', 'register'])).code).toBe(EXIT_USAGE);
    expect((await hvsock(['service', 'register', '--name', 'x', '--service-id', 'bogus'])).code).toBe(EXIT_USAGE);
    expect((await hvsock(['vm', 'list', '--keep-open'])).code).toBe(EXIT_USAGE);
    expect((await hvsock(['vm', 'nested', 'MyVM', '--enable', '--disable'])).code).toBe(EXIT_USAGE);
  });
});

describe('hvsock CLI: exit codes', () => {
  it('maps errors onto the documented exit codes', () => {
    expect(exitCodeFor(Object.assign(new Error(), { code: 'ECONNREFUSED' }))).toBe(EXIT_FAILURE);
    expect(exitCodeFor(Object.assign(new Error(), { code: 'ERR_INVALID_ARG_VALUE' }))).toBe(EXIT_USAGE);
    expect(exitCodeFor(Object.assign(new Error(), { code: 'EAFNOSUPPORT' }))).toBe(EXIT_UNAVAILABLE);
    expect(exitCodeFor(new Error('no code'))).toBe(EXIT_FAILURE);
  });
});

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

  it('the local CID: its number, and the name addresses give it where it has one', () => {
    expect(formatReport(diagnose(linux({ vsock_loopback: true }, { localCid: 1 })))).toMatch(/^local CID: 1 \(loopback\)$/m);
    expect(formatReport(diagnose(linux({ vhost_vsock: true }, { localCid: 2 })))).toMatch(/^local CID: 2 \(parent\)$/m);
    expect(formatReport(diagnose(linux({ hv_sock: true }, { localCid: 3 })))).toMatch(/^local CID: 3$/m);
    expect(formatReport(diagnose(linux({}, { localCid: 'ENODEV' })))).toMatch(/^local CID: ENODEV$/m);
    expect(diagnose(linux({ vsock_loopback: true }, { localCid: 1 }))).toMatchObject({ localCid: 1, localMachine: 'loopback' });
    expect(diagnose(linux({ hv_sock: true }, { localCid: 0xffffffff }))).toMatchObject({ localCid: 'any', localMachine: 'any' });
  });

  it('the buffer size: a new socket\'s default and what asking for 1 MiB left it at, or why it could not be read', () => {
    const held = linux({ vsock_loopback: true }, { bufferSize: { default: 262144, asked: 1048576, effective: 1048576 } });
    expect(formatReport(diagnose(held))).toMatch(/^buffer: {4}262144 bytes by default; bufferSize 1048576 set, the socket holds it$/m);
    expect(diagnose(held).bufferSize).toEqual({ default: 262144, asked: 1048576, effective: 1048576 });
    const clamped = linux({ hv_sock: true }, { bufferSize: { default: 65536, asked: 1048576, effective: 65536 } });
    expect(formatReport(diagnose(clamped))).toMatch(/^buffer: {4}65536 bytes by default; bufferSize 1048576 set, the socket holds 65536$/m);
    expect(formatReport(diagnose(linux({}, { bufferSize: 'ENOPROTOOPT' })))).toMatch(/^buffer: {4}unreadable \(ENOPROTOOPT\)$/m);
    expect(formatReport(diagnose(linux({})))).not.toMatch(/^buffer:/m);
  });

  it('a host, a loopback-only machine, and one with vsock but no transport', () => {
    expect(diagnose(linux({ vhost_vsock: true })).role).toBe('host');
    const loop = diagnose(linux({ vsock_loopback: true }, { localCid: 1 }));
    expect(loop).toMatchObject({ role: 'none', loopback: true });
    expect(loop.advice.join('\n')).toMatch(/loopback:<port>/);
    expect(diagnose(linux({})).advice.join('\n')).toMatch(/no transport is loaded/);
  });

  it('a KVM guest without vsock loopback: how to reach the host, and that loopback is absent, in the text', () => {
    const report = diagnose(linux({ vmw_vsock_virtio_transport: true }, { localCid: 3, loopbackBind: 'EADDRNOTAVAIL' }));
    expect(report).toMatchObject({ role: 'guest', loopback: false, parent: 'host' });
    const text = formatReport(report);
    expect(text).toMatch(/^loopback: {2}none \(binding CID 1 fails with EADDRNOTAVAIL\): connects to CID 1 fail at once; modprobe vsock_loopback \(Linux 5\.6 or later\) to have it$/m);
    expect(text).toMatch(/^parent: {4}CID 2 is this machine's host, through the guest transport$/m);
    expect(text).toMatch(/Guest: reach the host with parent:<port> \(CID 2\)\./);
    expect(text).toMatch(/a connect to loopback:<port> fails at once with EADDRNOTAVAIL/);
    expect(text).not.toMatch(/Peers reach this machine at CID 1/);
  });

  it('loopback but no guest transport (the project\'s VM): CID 2 is this machine, and it says so', () => {
    const report = diagnose(linux({ vsock_loopback: true }, { localCid: 1, loopbackBind: true }));
    expect(report).toMatchObject({ role: 'none', loopback: true, parent: 'self', localMachine: 'loopback' });
    const text = formatReport(report);
    expect(text).toMatch(/^loopback: {2}yes, CID 1 \(loopback:<port>\) stays on this machine$/m);
    expect(text).toMatch(/^parent: {4}CID 2 is this machine itself: no guest transport, so the kernel routes it to vsock loopback$/m);
    expect(text).toMatch(/routes CID 2 to this machine's own loopback \(vsock_use_local_transport\(\) in net\/vmw_vsock\/af_vsock\.c\)/);
    expect(text).toMatch(/The local CID reads 1: only the loopback transport is loaded/);
    expect(text).not.toMatch(/Peers reach this machine at CID/);
  });

  it('loopback is what binding CID 1 says (a built-in vsock_loopback has no module), the module list only without it', () => {
    expect(diagnose(linux({ vmw_vsock_virtio_transport: true }, { loopbackBind: true })).loopback).toBe(true);
    expect(diagnose(linux({ vsock_loopback: true }, { loopbackBind: 'EADDRNOTAVAIL' })).loopback).toBe(false);
    expect(diagnose(linux({ vsock_loopback: true })).loopback).toBe(true);
  });

  it('a host with neither guest transport nor loopback: CID 2 leads nowhere; a vsock host\'s CID 2 is not "peers reach"', () => {
    const report = diagnose(linux({ vhost_vsock: true }, { localCid: 2, loopbackBind: 'EADDRNOTAVAIL' }));
    expect(report.parent).toBe('none');
    expect(formatReport(report)).toMatch(/^parent: {4}CID 2 leads nowhere: no guest transport is loaded$/m);
    expect(report.advice.join('\n')).toMatch(/The local CID reads 2: this machine is a vsock host/);
  });

  it('no vsock at all, Windows without Hyper-V sockets, and other OSes', () => {
    expect(diagnose(linux({}, { sockets: 'EAFNOSUPPORT' })).advice[0]).toMatch(/fails with EAFNOSUPPORT/);
    const win = diagnose({ platform: 'win32', release: '10.0', arch: 'x64', node: 'v20', hvsock: '0.1.0', sockets: 'EAFNOSUPPORT' });
    expect(win).toMatchObject({ family: 'AF_HYPERV', role: 'none' });
    expect(win.advice[0]).toMatch(/Windows 10/);
    expect(diagnose({ platform: 'darwin', release: '23', arch: 'arm64', node: 'v20', hvsock: '0.1.0', sockets: 'EAFNOSUPPORT' }).family).toBeNull();
  });
});
