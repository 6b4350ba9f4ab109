#!/usr/bin/env node
// The `hvsock` command: talk over Hyper-V sockets from a shell.
import { parseArgs } from 'node:util';
import { runBench } from './bench.js';
import { runConnect, runListen, waitOption } from './bridge.js';
import { runDoctor } from './doctor.js';
import { runEcho } from './echo.js';
import { runSelftestCommand } from './selftest.js';
import { runService } from './service.js';
import { runVm } from './vm.js';
import { runWsl } from './wsl.js';
import { EXIT_USAGE, exitCodeFor } from './exit-codes.js';

const ADDRESS_HELP = `Addresses are [machine:]service, the same on Linux and Windows:
  machine  a CID (2), a VM GUID, or loopback | parent (host) | any (wildcard) | children | silohost
           | wsl (Windows: WSL 2's VM, looked up; listen/echo follow it across WSL restarts)
  service  a port (5000, 0x1388) or a service GUID
  e.g. parent:5000  loopback:<service-guid>  <vm-guid>:<service-guid>  2:5000  wsl:5000  5000`;

const HELP: Record<string, string> = {
  '': `Usage: hvsock <command> [options]

Commands:
  listen <address>    accept one connection and join it to stdin/stdout (like ncat -l)
  connect <address>   connect and join the connection to stdin/stdout
  echo <address>      run an echo service until interrupted
  bench <address>     throughput and round trip against an echo service
  doctor              what this machine can do with Hyper-V sockets, and what to do next
  selftest            prove the stack works here, over this machine's own loopback only
  service register --name <name> [--service-id <guid|port>]
  service list
  service unregister <guid|port>
                      Windows host (Administrator): the services VMs may reach
  vm list | vm id <name> | vm nested <name> [--enable|--disable]
                      Windows host: VM IDs for addresses, nested virtualization
  wsl id              WSL 2's running VM ID (Windows, or inside WSL 2)

Options: --help (any command), --json (echo, bench, doctor, selftest, service, vm)
Exit codes: 0 ok, 1 system error, 2 usage error, 3 not available on this machine

${ADDRESS_HELP}`,
  listen: `Usage: hvsock listen [--keep-open] <address>

Waits for a connection on <address> (machine defaults to any), then copies stdin to it and it to
stdout. End of stdin half-closes the connection; the command ends when the connection closes.
  --keep-open   serve one connection after another instead of exiting after the first

${ADDRESS_HELP}`,
  connect: `Usage: hvsock connect [--wait <seconds>] <address>

Connects to <address> (machine defaults to loopback), copies stdin to the connection and the
connection to stdout. End of stdin half-closes; the command ends when the connection closes.
  --wait <s>   while the peer refuses, is unreachable or times out, keep retrying for up to
               <s> seconds (for a service that is still starting, or a VM still booting)

${ADDRESS_HELP}`,
  echo: `Usage: hvsock echo [--json] <address>

Echoes every connection on <address> back to its sender until SIGINT/SIGTERM.
  --json   print the bound address as JSON when listening

${ADDRESS_HELP}`,
  service: `Usage: hvsock service register --name <name> [--service-id <guid|port>] [--json]
       hvsock service list [--json]
       hvsock service unregister <guid|port>

Windows hosts only, as Administrator. A VM can reach a service on its host only if the host lists
its GUID under HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Virtualization\\GuestCommunicationServices
with a friendly name. register prints the GUID (a new one unless --service-id is given; a port
stands for its template GUID XXXXXXXX-facb-11e6-bd58-64006a7986d3, which Linux guests reach as
that vsock port). Loopback connections need no registration.`,
  wsl: `Usage: hvsock wsl id [--json]

Prints the running WSL 2 VM's ID: on Windows the VM a listener must bind to hear WSL (a listener
on any or children never does), inside WSL 2 the VM it runs in. The ID changes each time WSL
restarts; hvsock listen/echo wsl:<port> follow it. Tries, in order, and never starts WSL:
wsl.exe (wslinfo --vm-id in a running distribution), HcsEnumerateComputeSystems (administrators
and Hyper-V Administrators), the HKLM\\...\\HostComputeService\\VolatileStore\\ComputeSystem
registry key, hcsdiag list (administrators). Exits 3, listing why each failed, when none works.
  --json   { vmId, source, attempts } (vmId null and attempts when not found)`,
  vm: `Usage: hvsock vm list [--json]
       hvsock vm id <name> [--json]
       hvsock vm nested <name> [--enable | --disable] [--json]

Windows Hyper-V hosts only, through the Hyper-V PowerShell module (elevated or Hyper-V
Administrators). The name is matched exactly and passed to PowerShell as data.
  id       the VM's ID, for addresses like <vm-id>:5000 ((Get-VM -Name X).Id)
  nested   reports ExposeVirtualizationExtensions and its prerequisites; --enable/--disable
           change it when the VM is off and its configuration version is 8.0 or later`,
  bench: `Usage: hvsock bench [--mib N] [--rounds N] [--json] <address>

Measures against an echo service at <address> (run hvsock echo there): bulk throughput with N MiB
(default 64) sent and echoed back at once, then N (default 1000) one-byte round trips. Shows a live
progress line on a terminal.

${ADDRESS_HELP}`,
  doctor: `Usage: hvsock doctor [--json]

Reports the OS, whether Hyper-V sockets (AF_HYPERV / AF_VSOCK) work here, on Linux the vsock
transports loaded and the local CID, the machine's role (guest, host, nested) and what to do next.
Never opens a connection. Exits 0 when sockets are available here, 3 when not.
  --json   the report as JSON`,
  selftest: `Usage: hvsock selftest [--json]

Proves Hyper-V sockets work on this machine, over its own loopback only: on Windows
HV_GUID_LOOPBACK with template service GUIDs (no registration needed), on Linux CID 1, and
only where a bind to CID 1 shows the vsock_loopback transport is loaded (elsewhere a CID-1
connect would leave the machine, so nothing is connected). Checks, each with a figure: echo
round trip, 16 MiB each way with SHA-256, half-close both ways, a refused connect
(ECONNREFUSED), the connectTimeout option read back from the socket, the accepted socket's
addresses, 100 concurrent connections. Never connects anywhere else.
Exits 0 when every check passes, 1 when one fails, 3 when it cannot run here (and says why).
  --json   the report as JSON (OS, Node, hvsock version, each check's name/ok/figure/error)`,
};

interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
  'keep-open': { type: 'boolean', short: 'k' },
  name: { type: 'string' },
  enable: { type: 'boolean' },
  disable: { type: 'boolean' },
  mib: { type: 'string' },
  rounds: { type: 'string' },
  'service-id': { type: 'string' },
  wait: { type: 'string', short: 'w' },
} as const;

function usage(io: Io, command: string, problem: string): number {
  io.err(`hvsock: ${problem}\n\n${HELP[command] ?? HELP['']}`);
  return EXIT_USAGE;
}

/** A positive whole number option, or its default; anything else is a usage error. */
function count(text: string | undefined, fallback: number, name: string): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < 1 || value > 1_000_000) {
    throw Object.assign(new Error(`--${name} must be a whole number from 1 to 1000000, not "${text}"`), { code: 'ERR_INVALID_ARG_VALUE' });
  }
  return value;
}

/** Runs one command line; resolves with the exit code. */
export async function main(argv: string[], io: Io): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    return usage(io, argv.find((a) => !a.startsWith('-')) ?? '', (error as Error).message);
  }
  const { values, positionals } = parsed;
  const [command = '', ...rest] = positionals;
  if (values.help) {
    if (!(command in HELP)) return usage(io, '', `unknown command "${command}"`);
    io.out(HELP[command] as string);
    return 0;
  }
  const needsAddress = ['listen', 'connect', 'echo', 'bench'].includes(command);
  if (needsAddress && rest.length !== 1) return usage(io, command, `${command} takes one address`);
  if (command === 'service') {
    const [action, ...args] = rest;
    if (action === 'register' && (values.name === undefined || args.length > 0)) {
      return usage(io, command, 'service register takes --name <name> and no other argument');
    }
    if (action === 'unregister' && args.length !== 1) return usage(io, command, 'service unregister takes one GUID or port');
    if (action === 'list' && args.length > 0) return usage(io, command, `unexpected argument "${args[0]}"`);
  } else if (command === 'wsl') {
    if (rest.length !== 1) return usage(io, command, 'wsl takes one action: id');
  } else if (command === 'vm') {
    const [action, ...args] = rest;
    const wantsName = action === 'id' || action === 'nested';
    if (wantsName ? args.length !== 1 : args.length > 0) return usage(io, command, `vm ${action ?? ''} takes ${wantsName ? 'one VM name' : 'no argument'}`);
    if (values.enable && values.disable) return usage(io, command, '--enable and --disable together');
    if ((values.enable || values.disable) && action !== 'nested') return usage(io, command, '--enable/--disable belong to vm nested');
  } else if (!needsAddress && rest.length > 0) {
    return usage(io, command, `unexpected argument "${rest[0]}"`);
  }
  const address = rest[0] as string;
  const bridgeIo = { stdin: process.stdin, stdout: process.stdout, log: io.err };
  try {
    switch (command) {
      case 'listen':
        return await runListen(address, bridgeIo, values['keep-open'] === true);
      case 'connect':
        return await runConnect(address, bridgeIo, waitOption(values.wait));
      case 'echo':
        return await runEcho(address, values.json ? io.out : io.err, values.json === true);
      case 'bench': {
        const mib = count(values.mib, 64, 'mib');
        const rounds = count(values.rounds, 1000, 'rounds');
        return await runBench(address, { mib, rounds, json: values.json === true }, io.out);
      }
      case 'doctor':
        return runDoctor(values.json === true, io.out);
      case 'selftest':
        return await runSelftestCommand(values.json === true, io.out, process.stderr.isTTY ? io.err : undefined);
      case 'service':
        return runService(
          { action: rest[0], rest: rest.slice(1), name: values.name, serviceId: values['service-id'], json: values.json === true },
          io.out,
        );
      case 'wsl':
        return await runWsl({ action: rest[0], json: values.json === true }, io);
      case 'vm':
        return await runVm(
          { action: rest[0], name: rest[1], enable: values.enable ? true : values.disable ? false : undefined, json: values.json === true },
          io.out,
        );
      case '':
        return usage(io, '', 'no command');
      default:
        return usage(io, '', `unknown command "${command}"`);
    }
  } catch (error) {
    const code = exitCodeFor(error);
    if (code === EXIT_USAGE) return usage(io, command, (error as Error).message);
    io.err(`hvsock: ${(error as Error).message}`);
    return code;
  }
}

if (require.main === module) {
  const io: Io = { out: (text) => process.stdout.write(`${text}\n`), err: (text) => process.stderr.write(`${text}\n`) };
  void main(process.argv.slice(2), io).then((code) => {
    process.exitCode = code;
  });
}
