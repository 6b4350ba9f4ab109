// The help texts: `hvsock --help`, `hvsock help <command>` and
// `hvsock <command> --help`. Each command's text lists exactly the options it
// takes (test/unit/cli/cli.test.ts checks them against the command table).

const ADDRESS_HELP = `Addresses are [machine:]service, the same on Linux and Windows:
  machine  a CID (2), a VM GUID, or loopback | parent (host) | any (wildcard) | children | silohost
           | wsl (Windows: WSL 2's VM, looked up; listen/echo follow it across WSL restarts)
  service  a port (5000, 0x1388) or a service GUID
  e.g. parent:5000  loopback:<service-guid>  <vm-guid>:<service-guid>  2:5000  wsl:5000  5000
Addresses print the same way: any:5000, loopback:1234, <vm-guid>:5000.`;

const EXIT_CODES = 'Exit codes: 0 ok, 1 system error, 2 usage error, 3 not available on this machine';

export const HELP: Readonly<Record<string, string>> = {
  '': `Usage: hvsock <command> [options] [arguments]
       hvsock help [<command>]   a command's options (the same as hvsock <command> --help)
       hvsock --version          the installed version (also -v)

Commands:
  listen [--keep-open] <address>
        accept a connection and join it to stdin/stdout (like ncat -l)
  connect [--wait <seconds>] <address>
        connect and join the connection to stdin/stdout
  forward [options] <listen> <target> [<listen> <target> ...]
  forward --config <file> [--verbose] [--json] [--stats-interval <seconds>]
        carry TCP, unix-socket, pipe or hvsock services across the VM boundary (like socat ... fork)
  echo [--json] <address>
        run an echo service until interrupted
  bench [--mib <N>] [--rounds <N>] [--json] <address>
        throughput and round trip against an echo service
  doctor [--json]
        what this machine can do with Hyper-V sockets, and what to do next
  selftest [--json]
        prove the stack works here, over this machine's own loopback only
  service register --name <name> [--service-id <guid|port>] [--json]
  service list [--json]
  service unregister <guid|port>
        Windows host (Administrator): the services VMs may reach
  vm list [--json]
  vm id <name> [--json]
  vm nested <name> [--enable | --disable] [--json]
        Windows host: VM IDs for addresses, nested virtualization
  wsl id [--json]
        WSL 2's running VM ID (Windows, or inside WSL 2)

Every command takes --help; an option another command takes is a usage error.
${EXIT_CODES}

${ADDRESS_HELP}`,
  listen: `Usage: hvsock listen [--keep-open] <address>

Waits for a connection on <address> (machine defaults to any), then copies stdin to it and it to
stdout. End of stdin half-closes the connection; the command ends when the connection closes.
Says on stderr where it listens and whom each connection is from ("connection from loopback:1234").
  -k, --keep-open   serve one connection after another instead of exiting after the first

${ADDRESS_HELP}`,
  connect: `Usage: hvsock connect [--wait <seconds>] <address>

Connects to <address> (machine defaults to loopback), copies stdin to the connection and the
connection to stdout. End of stdin half-closes; the command ends when the connection closes.
On a Windows host, vm:NAME:PORT reaches a Hyper-V VM by name (looked up as vm id does), e.g. as
SSH's ProxyCommand: ssh -o ProxyCommand="npx hvsock connect vm:MyVM:22" user@myvm
  -w, --wait <seconds>   while the peer refuses, is unreachable or times out, keep retrying for
                         up to that long, 0 to 1000000 (for a service that is still starting, or
                         a VM still booting)

${ADDRESS_HELP}`,
  forward: `Usage: hvsock forward [options] <listen> <target> [<listen> <target> ...]
       hvsock forward --config <file> [--verbose] [--json] [--stats-interval <seconds>]

Accepts connections on each <listen> end and joins each to a new connection to its <target>,
until SIGINT/SIGTERM (which let live connections finish for --drain-timeout; a second one resets
them). Half-close, resets and backpressure pass through. Every failed connection is one line.
Ends:
  any:5000 parent:22 3:22 <vm-guid>:<service>  an hvsock address; wsl:8080 follows WSL 2 (Windows)
  vm:NAME:22                 a Hyper-V VM by name (Windows host, target only), looked up as vm id
  tcp:2222 tcp:HOST:PORT tcp:[::1]:PORT   TCP; a listen end without HOST binds 127.0.0.1
  unix:PATH                  a Unix domain socket (Linux; a stale socket file is replaced)
  pipe:NAME                  a Windows named pipe (\\.\pipe\NAME)
  fd:N                       listen only: an inherited listening hvsock socket (systemd)
Options (each applies to every pair on the command line; with --config the file sets them):
  --allow <peers>            who may connect to an hvsock listen end, comma-separated: any, CIDs,
                             VM GUIDs, parent, loopback, wsl, vm:NAME (required there: no default)
  --max-connections <N>      simultaneous connections per rule, more are refused (default 256)
  --connect-timeout <s>      give up one connect to the target after that long (default 10)
  -w, --wait <s>             keep redialing a target that is not there yet for that long
  --idle-timeout <s>         close a connection after that long without a byte (default never)
  --drain-timeout <s>        on SIGINT/SIGTERM, let connections finish that long (default 10)
  -c, --config <file>        the rules as JSON: {"forwards":[{"name":"ssh","listen":"tcp:2222",
                             "target":"vm:MyVM:22","maxConnections":16,"idleTimeout":600000}]}
                             (forward()'s options; times in ms)
  --verbose                  one line per connection: peer, bytes each way, duration, how it ended
  --json                     the log as JSON lines on stdout instead of text on stderr
  --stats-interval <s>       print each rule's counters that often (also on SIGUSR1)
e.g. hvsock forward tcp:2222 vm:MyVM:22          (Windows host: ssh -p 2222 localhost reaches the VM)
     hvsock forward --allow parent any:2222 tcp:localhost:22   (Linux guest: the host reaches sshd)
${EXIT_CODES}`,
  echo: `Usage: hvsock echo [--json] <address>

Echoes every connection on <address> back to its sender until SIGINT/SIGTERM. Says on stderr
where it listens and whom each connection is from.
  --json   say it on stdout as JSON lines instead: {"listening":{...,"text":"any:5000"}},
           then {"connection":{...,"text":"loopback:1234"}} per connection

${ADDRESS_HELP}`,
  bench: `Usage: hvsock bench [--mib <N>] [--rounds <N>] [--json] <address>

Measures against an echo service at <address> (run hvsock echo there): bulk throughput with N MiB
sent and echoed back at once, then N one-byte round trips. Shows a live progress line on a terminal.
  --mib <N>      MiB to send, 1 to 1000000 (default 64)
  --rounds <N>   round trips, 1 to 1000000 (default 1000)
  --json         the figures as JSON, with the peer's address in the short form as "peer"

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
  service: `Usage: hvsock service register --name <name> [--service-id <guid|port>] [--json]
       hvsock service list [--json]
       hvsock service unregister <guid|port>

Windows hosts only, as Administrator (elsewhere: exit 3). A VM can reach a service on its host
only if the host lists its GUID under
HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Virtualization\\GuestCommunicationServices
with a friendly name. Loopback connections need no registration.
  register       prints the GUID: a new one unless --service-id is given
    --name <name>              the friendly name Hyper-V shows (required)
    --service-id <guid|port>   the service: a GUID, or a port 0 to 0x7FFFFFFF for its template
                               GUID XXXXXXXX-facb-11e6-bd58-64006a7986d3, which Linux guests
                               reach as that vsock port
  list           the registered services, GUID and name
  unregister     removes one, given as a GUID or a port
  --json         register and list: the result as JSON`,
  vm: `Usage: hvsock vm list [--json]
       hvsock vm id <name> [--json]
       hvsock vm nested <name> [--enable | --disable] [--json]

Windows Hyper-V hosts only, through the Hyper-V PowerShell module (elevated or Hyper-V
Administrators; elsewhere: exit 3). The name is matched exactly and passed to PowerShell as data.
  list       every VM: ID, state, configuration version, name
  id         the VM's ID, for addresses like <vm-id>:5000 ((Get-VM -Name X).Id)
  nested     reports ExposeVirtualizationExtensions and its prerequisites
    --enable, --disable   change it (the VM must be off, configuration version 8.0 or later)
  --json     the result as JSON`,
  wsl: `Usage: hvsock wsl id [--json]

Prints the running WSL 2 VM's ID: on Windows the VM a listener must bind to hear WSL (a listener
on any or children never does), inside WSL 2 the VM it runs in. The ID changes each time WSL
restarts; hvsock listen/echo wsl:<port> follow it. Tries, in order, and never starts WSL:
wsl.exe (wslinfo --vm-id in a running distribution), HcsEnumerateComputeSystems (administrators
and Hyper-V Administrators), the HKLM\\...\\HostComputeService\\VolatileStore\\ComputeSystem
registry key, hcsdiag list (administrators). wsl.exe and hcsdiag.exe run from
%SystemRoot%\\System32, never from the current folder. Exits 3, listing why each failed, when
none works.
  --json   { vmId, source, attempts } (vmId null and attempts when not found)`,
};
