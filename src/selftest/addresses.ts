// What the four addresses of one loopback connection should read, judged on
// what the OS returned. Pure, so the rules are unit-tested on recorded
// addresses.
//
// Windows (HV_GUID_LOOPBACK), as go-winio's TestHvSockAddresses records it on
// GitHub's Windows runners (microsoft/go-winio:hvsock_test.go;
// docs/hyperv-facts.md#windows-loopback-addresses):
//   client local  {HV_GUID_CHILDREN, an automatic service ID}
//   client remote the dialed address {HV_GUID_LOOPBACK, listener's service ID}
//   server local  {HV_GUID_CHILDREN, listener's service ID} (from AcceptEx's buffer:
//                 getsockname on an accepted Hyper-V socket is arbitrary)
//   server remote {HV_GUID_LOOPBACK, the client's automatic service ID}
// Only real Hyper-V shows these; Wine has no AF_HYPERV.
//
// Linux (CID 1, vsock_loopback), as seen in the project's VM (Debian 6.1):
// the listener, both of the server's addresses and the client's remote are
// CID 1; the client's local address reads CID VMADDR_CID_ANY, because connect
// auto-binds the socket to CID ANY and getsockname reports that binding
// (af_vsock.c), while the server sees the real source CID 1. The server's
// remote port is the client's local port, the client's remote port the
// listener's.
import type { AddressPlatform, HvSocketAddress } from '../address/address.js';
import { HV_GUID_CHILDREN, HV_GUID_LOOPBACK, VMADDR_CID_ANY, VMADDR_CID_LOCAL } from '../address/constants.js';
import { formatMachine, formatService } from '../address/names.js';

/** The addresses of one connection as each end reads them; undefined where the OS call failed. */
export interface SeenAddresses {
  /** server.address(): what the listener is bound to. */
  listener: HvSocketAddress | null;
  clientLocal: HvSocketAddress | undefined;
  clientRemote: HvSocketAddress | undefined;
  serverLocal: HvSocketAddress | undefined;
  serverRemote: HvSocketAddress | undefined;
}

type Side = Exclude<keyof SeenAddresses, 'listener'>;
const SIDES: Array<[Side, string]> = [
  ['clientLocal', 'client local'],
  ['clientRemote', 'client remote'],
  ['serverLocal', 'server local'],
  ['serverRemote', 'server remote'],
];

/** A field's expected value, or the values it may take. */
type Wanted<T> = T | readonly T[];
/** What each side should read: only the fields that identify an address on that OS. */
type Expected = Partial<Record<Side, { [K in keyof HvSocketAddress]?: Wanted<HvSocketAddress[K]> }>>;

function expected(platform: AddressPlatform, seen: SeenAddresses): Expected {
  if (platform === 'linux') {
    const port = seen.listener?.port;
    return {
      clientLocal: { cid: [VMADDR_CID_ANY, VMADDR_CID_LOCAL], port: seen.serverRemote?.port },
      clientRemote: { cid: VMADDR_CID_LOCAL, port },
      serverLocal: { cid: VMADDR_CID_LOCAL, port },
      serverRemote: { cid: VMADDR_CID_LOCAL, port: seen.clientLocal?.port },
    };
  }
  const serviceId = seen.listener?.serviceId;
  return {
    clientLocal: { vmId: HV_GUID_CHILDREN, serviceId: seen.serverRemote?.serviceId },
    clientRemote: { vmId: HV_GUID_LOOPBACK, serviceId },
    serverLocal: { vmId: HV_GUID_CHILDREN, serviceId },
    serverRemote: { vmId: HV_GUID_LOOPBACK, serviceId: seen.clientLocal?.serviceId },
  };
}

/** An address in the short form ("loopback:5000", "children:<service-guid>"), '?' for a part not known. */
export function shortAddress(address: Partial<HvSocketAddress> | null | undefined): string {
  if (address === null || address === undefined) return '?';
  return `${formatMachine(address) || '?'}:${formatService(address) || '?'}`;
}

/** An expectation in the short form; a field with several allowed values reads "1|4294967295". */
function shortWanted(wanted: NonNullable<Expected[Side]>): string {
  const one = (value: unknown): unknown => (Array.isArray(value) ? value.join('|') : value);
  const machines = (cid: unknown): string =>
    (Array.isArray(cid) ? cid : [cid]).map((c) => (c === undefined ? '?' : formatMachine({ cid: c as number }))).join('|');
  if (wanted.vmId === undefined) return `${machines(wanted.cid)}:${one(wanted.port) ?? '?'}`;
  return shortAddress({ vmId: wanted.vmId as string, serviceId: wanted.serviceId as string | undefined });
}

/** Each side whose address is not what the OS should report, saying what was expected and what was seen. */
export function addressProblems(platform: AddressPlatform, seen: SeenAddresses): string[] {
  const problems: string[] = [];
  if (seen.listener === null) problems.push('listener: no address');
  const want = expected(platform, seen);
  for (const [side, label] of SIDES) {
    const got = seen[side];
    const wanted = want[side] ?? {};
    if (got === undefined) {
      problems.push(`${label}: unreadable`);
      continue;
    }
    const differs = Object.entries(wanted).some(([key, value]) => {
      const actual = got[key as keyof HvSocketAddress];
      return Array.isArray(value) ? !value.includes(actual) : actual !== value;
    });
    if (differs) problems.push(`${label}: expected ${shortWanted(wanted)}, saw ${shortAddress(got)}`);
  }
  return problems;
}

/** "client A → B; server C ← D": the connection as both ends see it. */
export function describeConnection(seen: SeenAddresses): string {
  return (
    `client ${shortAddress(seen.clientLocal)} → ${shortAddress(seen.clientRemote)}; ` +
    `server ${shortAddress(seen.serverLocal)} ← ${shortAddress(seen.serverRemote)}`
  );
}
