// `hvsock doctor`: what this machine can do with Hyper-V sockets, and what
// to do next. Gathering facts touches the system (module list, a socket()
// probe, the local CID ioctl, setsockopt/getsockopt of the buffer size on a
// socket it never binds or connects — never a connect); judging them is
// pure, so the role and advice rules are unit-tested on recorded facts.
import { existsSync } from 'node:fs';
import { arch, release } from 'node:os';
import { AF_HYPERV, AF_VSOCK, HV_PROTOCOL_RAW, VMADDR_CID_ANY, VMADDR_CID_HOST, VMADDR_CID_LOCAL } from '../address/constants.js';
import { getSystemErrorName } from 'node:util';
import { loadBinding, packageVersion } from '../transport/native.js';
import { applySocketOptions, hostPlatform, readBufferSize } from '../transport/platform.js';
import { probeVsockLoopback } from '../transport/vsock-loopback.js';
import { isElevated, listServices, type RegisteredService } from '../host/services.js';
import { isWsl1Kernel, isWsl2Kernel } from '../host/wsl/parse.js';
import { cidText } from './addresses.js';

/** Linux vsock transports, by kernel module name, and what each means for this machine. */
export const LINUX_TRANSPORTS = {
  vsock_loopback: 'loopback (CID 1) inside this machine',
  vmw_vsock_virtio_transport: 'guest of a KVM/QEMU/Firecracker host (virtio)',
  hv_sock: 'guest of a Hyper-V host',
  vmw_vsock_vmci_transport: 'guest or host under VMware (VMCI)',
  vhost_vsock: 'host of KVM/QEMU guests (vhost)',
} as const;
export type LinuxTransport = keyof typeof LINUX_TRANSPORTS;

const GUEST_TRANSPORTS: LinuxTransport[] = ['vmw_vsock_virtio_transport', 'hv_sock', 'vmw_vsock_vmci_transport'];

export interface DoctorFacts {
  platform: NodeJS.Platform;
  release: string;
  arch: string;
  node: string;
  hvsock: string;
  /** socket() of the platform's family: true, or the error code. */
  sockets: true | string;
  /** Linux only: which transports are loaded. */
  transports?: Record<LinuxTransport, boolean>;
  /** Linux only: the local CID, or the error code of the ioctl. */
  localCid?: number | string;
  /**
   * Linux only: whether a socket binds to CID 1 (true), or the error code of
   * the bind (or of socket()): the kernel allows it exactly when it has vsock
   * loopback, built in or as the vsock_loopback module. Absent: judge by the module.
   */
  loopbackBind?: true | string;
  /**
   * The buffer size of a new, unconnected socket (`default`), and what it
   * holds after setsockopt() with the options bufferSize: `asked` sets
   * (`effective`): getBufferSize()'s reading. Or the code of the error that
   * kept us from reading it.
   */
  bufferSize?: BufferSizeFact | string;
  /** Windows only: whether this process is elevated, or the error code. */
  elevated?: boolean | string;
  /** Windows only: the registered Hyper-V services, or the error code. */
  services?: RegisteredService[] | string;
}

export interface BufferSizeFact {
  default: number;
  asked: number;
  effective: number;
}

/** What doctor asks a socket's buffer size to be: above vsock's 256 KiB default maximum, so that raising it shows. */
export const DOCTOR_BUFFER_SIZE = 1024 * 1024;

export type Role = 'guest' | 'host' | 'nested' | 'none' | 'unknown';

/**
 * Where a connect to CID 2 (parent) goes on Linux, as vsock_assign_transport()
 * and vsock_use_local_transport() in net/vmw_vsock/af_vsock.c decide: to the
 * host through the guest transport when one is loaded ('host'; 'nested' when
 * a host transport is loaded too, where toHost: true matters); with no guest
 * transport, to this machine's own loopback when it has one ('self'), else
 * nowhere ('none': the connect fails with ENODEV).
 */
export type ParentRoute = 'host' | 'nested' | 'self' | 'none';

export interface DoctorReport extends Omit<DoctorFacts, 'localCid'> {
  family: 'AF_VSOCK' | 'AF_HYPERV' | null;
  role: Role;
  /** Linux: a connect to CID 1 stays on this machine (vsock loopback exists). */
  loopback: boolean;
  /** Linux: where a connect to CID 2 (parent) goes. */
  parent?: ParentRoute;
  /** Linux inside WSL, told by the kernel release ("…-microsoft-standard-WSL2"; WSL 1's ends in "-Microsoft"). */
  wsl: 'wsl2' | 'wsl1' | null;
  /** As gathered, except VMADDR_CID_ANY reads "any": a Hyper-V guest (WSL 2 too) has no CID of its own. */
  localCid?: number | string;
  /** The local CID in the short form of addresses: loopback (1), parent (2), any, or the number. */
  localMachine?: string;
  advice: string[];
}

/** What the Windows side must do for WSL 2, said the same way from either side. */
const WSL_WINDOWS_SIDE =
  "on Windows, a server for WSL must bind WSL's VM ID, not any or children (a wildcard listener never sees WSL's connections): " +
  'hvsock listen wsl:<port> (or listen({ wsl: true, port })) looks it up and follows it across WSL restarts; hvsock wsl id (getWslVmId()) prints it. ' +
  'Run it as the same Windows user who started WSL (another user, even an elevated administrator, gets EACCES); no service registration is needed.';

/** socket() of a family: true, or the error's code name. */
function probe(family: number, protocol: number): true | string {
  return attempt(() => {
    const err = loadBinding().probe(family, protocol);
    return err === 0 ? true : getSystemErrorName(err);
  });
}

/** A fact, or the code of the error that kept us from reading it (no binary, no rights…). */
function attempt<T>(read: () => T): T | string {
  try {
    return read();
  } catch (error) {
    return String((error as { code?: string }).code ?? error);
  }
}

/**
 * A socket of this OS's family, opened and never bound or connected: its
 * buffer size, then bufferSize: DOCTOR_BUFFER_SIZE set the way connect()
 * sets it, and read again.
 */
function probeBufferSize(): BufferSizeFact | string {
  const platform = hostPlatform('socket');
  const handle = new (loadBinding().SocketHandle)();
  const failed = (errno: number) => getSystemErrorName(errno);
  try {
    const opened = handle.open(platform.family, platform.protocol);
    if (opened < 0) return failed(opened);
    const before = readBufferSize(handle, platform.bufferSizeOption);
    if (before < 0) return failed(before);
    const set = applySocketOptions(handle, platform.socketOptions({ bufferSize: DOCTOR_BUFFER_SIZE }));
    if (set < 0) return failed(set);
    const after = readBufferSize(handle, platform.bufferSizeOption);
    if (after < 0) return failed(after);
    return { default: before, asked: DOCTOR_BUFFER_SIZE, effective: after };
  } finally {
    handle.close();
  }
}

/** Reads the facts of the running machine. */
export function gatherFacts(): DoctorFacts {
  const facts: DoctorFacts = {
    platform: process.platform,
    release: release(),
    arch: arch(),
    node: process.version,
    hvsock: packageVersion(),
    sockets: 'EAFNOSUPPORT',
  };
  if (process.platform === 'linux') {
    facts.sockets = probe(AF_VSOCK, 0);
    facts.transports = Object.fromEntries(
      Object.keys(LINUX_TRANSPORTS).map((name) => [name, existsSync(`/sys/module/${name}`)]),
    ) as Record<LinuxTransport, boolean>;
    facts.localCid = attempt(() => {
      const cid = loadBinding().localCid();
      return cid < 0 ? getSystemErrorName(cid) : cid;
    });
    facts.loopbackBind = attempt(() => {
      const probe = probeVsockLoopback(loadBinding());
      return probe.available ? true : getSystemErrorName(probe.errno);
    });
    if (facts.sockets === true) facts.bufferSize = attempt(probeBufferSize);
  } else if (process.platform === 'win32') {
    facts.sockets = probe(AF_HYPERV, HV_PROTOCOL_RAW);
    facts.elevated = attempt(isElevated);
    facts.services = attempt(listServices);
    if (facts.sockets === true) facts.bufferSize = attempt(probeBufferSize);
  }
  return facts;
}

/** Judges facts: the machine's role and what to do next. */
export function diagnose(facts: DoctorFacts): DoctorReport {
  const advice: string[] = [];
  let family: DoctorReport['family'] = null;
  let role: Role = 'unknown';
  let loopback = false;
  let wsl: DoctorReport['wsl'] = null;
  let parent: ParentRoute | undefined;
  const localCid = facts.localCid === VMADDR_CID_ANY ? 'any' : facts.localCid;
  if (facts.platform === 'linux') {
    family = 'AF_VSOCK';
    wsl = isWsl2Kernel(facts.release) ? 'wsl2' : isWsl1Kernel(facts.release) ? 'wsl1' : null;
    const t = facts.transports;
    const guest = t !== undefined && GUEST_TRANSPORTS.some((name) => t[name]);
    const host = t?.vhost_vsock === true;
    loopback = facts.loopbackBind === undefined ? t?.vsock_loopback === true : facts.loopbackBind === true;
    role = guest && host ? 'nested' : guest ? 'guest' : host ? 'host' : 'none';
    parent = guest ? (host ? 'nested' : 'host') : loopback ? 'self' : 'none';
    if (wsl === 'wsl1') {
      advice.push('WSL 1 has no VM and no vsock: convert the distribution to WSL 2 (on Windows: wsl --set-version <distribution> 2).');
    } else if (facts.sockets !== true) {
      advice.push(`socket(AF_VSOCK) fails with ${facts.sockets}: load the vsock module for your hypervisor (modprobe hv_sock on Hyper-V, vmw_vsock_virtio_transport on KVM/QEMU).`);
    } else if (role === 'none' && !loopback) {
      advice.push('vsock is present but no transport is loaded: modprobe hv_sock (Hyper-V guest), vmw_vsock_virtio_transport (KVM/QEMU guest), vhost_vsock (host) or vsock_loopback (local testing).');
    }
    const usable = wsl !== 'wsl1' && facts.sockets === true;
    if (wsl === 'wsl2') {
      advice.push('WSL 2: reach Windows with parent:<port> (CID 2); vsock loopback (CID 1) does not exist in WSL\'s VM.');
      advice.push(`WSL client, Windows server: ${WSL_WINDOWS_SIDE}`);
      advice.push('WSL server, Windows client: listen here on any:<port>; on Windows, hvsock connect wsl:<port> (or connect({ vmId: await getWslVmId(), port })).');
    } else if (t?.hv_sock) {
      advice.push('Hyper-V guest: reach the host with parent:<port> (CID 2). On the Windows host, register the service GUID of that port once: hvsock service register --name <name> --service-id <port>.');
    } else if (guest) {
      advice.push('Guest: reach the host with parent:<port> (CID 2).');
    }
    if (role === 'nested') {
      advice.push('Nested: this machine is a guest and a host. A connect to CID 2 may stay at this level; pass toHost: true (VMADDR_FLAG_TO_HOST) to send it up to this machine\'s own host.');
    } else if (role === 'host') {
      advice.push('Host: reach a guest by its CID (<cid>:<port>); the CID is set per VM (QEMU -device vhost-vsock-pci,guest-cid=N).');
    }
    if (usable && parent === 'self') {
      advice.push(
        'No guest transport is loaded, so the kernel routes CID 2 to this machine\'s own loopback (vsock_use_local_transport() in net/vmw_vsock/af_vsock.c): ' +
          'parent:<port> reaches a server on this machine, not a hypervisor host. In a VM, load its guest transport (hv_sock, vmw_vsock_virtio_transport) to reach the host.',
      );
    }
    if (loopback) {
      advice.push('vsock loopback is there: loopback:<port> (CID 1) works for trying things on this machine.');
    } else if (usable && wsl !== 'wsl2') {
      advice.push(
        'No vsock loopback (binding CID 1 fails): a connect to loopback:<port> fails at once with EADDRNOTAVAIL, because the kernel would send it to this machine\'s host. ' +
          'For local testing: modprobe vsock_loopback (Linux 5.6 or later).',
      );
    }
    if (localCid === 'any') {
      advice.push('The local CID reads VMADDR_CID_ANY: as in any Hyper-V guest, this machine has no CID of its own; its host reaches it by VM ID.');
    } else if (localCid === VMADDR_CID_LOCAL) {
      advice.push('The local CID reads 1: only the loopback transport is loaded, so no other machine reaches this one over vsock.');
    } else if (localCid === VMADDR_CID_HOST) {
      advice.push('The local CID reads 2: this machine is a vsock host; its guests reach it as parent:<port> (CID 2).');
    } else if (typeof localCid === 'number') advice.push(`Peers reach this machine at CID ${localCid}.`);
  } else if (facts.platform === 'win32') {
    family = 'AF_HYPERV';
    role = facts.sockets === true ? 'unknown' : 'none';
    if (facts.sockets !== true) {
      advice.push(`socket(AF_HYPERV) fails with ${facts.sockets}: Hyper-V sockets need Windows 10 / Server 2016 or later with Hyper-V (host) or as a Hyper-V guest.`);
    }
    if (facts.elevated === false) {
      advice.push('Not elevated: registering services (hvsock service register) needs an Administrator prompt.');
    }
    if (Array.isArray(facts.services)) {
      advice.push(facts.services.length === 0
        ? 'No Hyper-V services are registered: VMs can reach only loopback services here until you run hvsock service register.'
        : `${facts.services.length} Hyper-V service(s) registered (hvsock service list).`);
    }
    if (facts.sockets === true) {
      advice.push('A host reaches a VM by its ID ((Get-VM -Name X).Id, or hvsock vm id X); a guest reaches its host with parent:<port>. Services other than loopback need a registry entry on the host (hvsock service register).');
      advice.push(`WSL 2 is the exception: ${WSL_WINDOWS_SIDE}`);
    }
  } else {
    advice.push(`Hyper-V sockets exist on Windows and Linux; ${facts.platform} has neither AF_HYPERV nor AF_VSOCK support in hvsock.`);
  }
  const report: DoctorReport = { ...facts, family, role, loopback, wsl, advice };
  if (parent !== undefined) report.parent = parent;
  if (localCid !== undefined) report.localCid = localCid;
  if (typeof facts.localCid === 'number') report.localMachine = cidText(facts.localCid);
  return report;
}

/** "3", "1 (loopback)", "any": the number, and the name addresses give it where it has one. */
function localCidLine(report: DoctorReport): string {
  const { localCid, localMachine } = report;
  if (localCid === undefined) return 'unknown';
  return localMachine === undefined || localMachine === String(localCid) ? String(localCid) : `${localCid} (${localMachine})`;
}

/** Doctor's `parent:` line: where a connect to CID 2 goes. */
const PARENT_LINES: Record<ParentRoute, string> = {
  host: "CID 2 is this machine's host, through the guest transport",
  nested: "CID 2 may stay at this level (guest and host transports); toHost: true sends it to this machine's host",
  self: 'CID 2 is this machine itself: no guest transport, so the kernel routes it to vsock loopback',
  none: 'CID 2 leads nowhere: no guest transport is loaded',
};

/** Doctor's `loopback:` line: whether CID 1 stays on this machine. */
function loopbackLine(report: DoctorReport): string {
  if (report.loopback) return 'yes, CID 1 (loopback:<port>) stays on this machine';
  const why = report.loopbackBind !== undefined && report.loopbackBind !== true ? ` (binding CID 1 fails with ${report.loopbackBind})` : '';
  if (report.wsl === 'wsl2') return `none${why}: WSL 2 has no vsock loopback`;
  return `none${why}: connects to CID 1 fail at once; modprobe vsock_loopback (Linux 5.6 or later) to have it`;
}

/** Doctor's `buffer:` line: a new socket's buffer size, and what asking for DOCTOR_BUFFER_SIZE left it at. */
function bufferSizeLine(fact: BufferSizeFact | string): string {
  if (typeof fact === 'string') return `unreadable (${fact})`;
  const held = fact.effective === fact.asked ? 'holds it' : `holds ${fact.effective}`;
  return `${fact.default} bytes by default; bufferSize ${fact.asked} set, the socket ${held}`;
}

export function formatReport(report: DoctorReport): string {
  const lines = [
    `hvsock ${report.hvsock} on Node ${report.node}, ${report.platform} ${report.release} (${report.arch})`,
    `sockets:   ${report.family ?? 'none'} ${report.sockets === true ? 'available' : `unavailable (${report.sockets})`}`,
  ];
  if (report.wsl !== null) lines.push(`inside:    ${report.wsl === 'wsl2' ? 'WSL 2' : 'WSL 1'}`);
  if (report.elevated !== undefined) lines.push(`elevated:  ${report.elevated}`);
  if (Array.isArray(report.services)) {
    lines.push(`services:  ${report.services.length === 0 ? 'none registered' : ''}`);
    for (const s of report.services) lines.push(`  ${s.serviceId}  ${s.name ?? ''}`);
  } else if (report.services !== undefined) {
    lines.push(`services:  unreadable (${report.services})`);
  }
  if (report.transports !== undefined) {
    const loaded = Object.entries(report.transports).filter(([, on]) => on).map(([name]) => name);
    lines.push(`transports: ${loaded.length > 0 ? loaded.join(', ') : 'none loaded'}`);
    lines.push(`local CID: ${localCidLine(report)}`);
    lines.push(`loopback:  ${loopbackLine(report)}`);
    if (report.parent !== undefined) lines.push(`parent:    ${PARENT_LINES[report.parent]}`);
  }
  if (report.bufferSize !== undefined) lines.push(`buffer:    ${bufferSizeLine(report.bufferSize)}`);
  lines.push(`role:      ${report.role}`, '', 'next:');
  for (const line of report.advice) lines.push(`  - ${line}`);
  return lines.join('\n');
}

/** Exit code: 0 when sockets work here, 3 otherwise. */
export function runDoctor(json: boolean, out: (text: string) => void): number {
  const report = diagnose(gatherFacts());
  out(json ? JSON.stringify(report, null, 2) : formatReport(report));
  return report.sockets === true ? 0 : 3;
}
