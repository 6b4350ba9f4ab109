// Which peers a listening hvsock end lets in. There is no default: `any` must
// be written out, because a forward of a host service to "any VM" is a
// decision (AWS's vsock-proxy refuses targets off its allowlist for the same
// reason, aws/aws-nitro-enclaves-cli:vsock_proxy/README.md).
//   any                 every peer
//   3, 0x3              a CID (Linux)
//   parent (host), loopback   the machines both OSes name
//   <vm-guid>           a VM ID (Windows)
//   wsl                 WSL 2's VM, looked up again when WSL restarts with a new ID
//   vm:NAME             a Hyper-V VM by name (Windows), looked up as `hvsock vm id` does
import { HV_GUID_LOOPBACK, HV_GUID_PARENT, VMADDR_CID_HOST, VMADDR_CID_LOCAL } from '../address/constants.js';
import type { AddressPlatform, HvSocketAddress } from '../address/address.js';
import { isGuid, normalizeGuid } from '../address/guid.js';
import { parseUint32Text } from '../address/names.js';
import { ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE } from '../errors/errors.js';
import type { Lookups } from './lookups.js';

export type PeerRule =
  | { kind: 'any' }
  | { kind: 'cid'; cid: number; text: string }
  | { kind: 'vmId'; vmId: string; text: string }
  | { kind: 'wsl' }
  | { kind: 'vm'; name: string };

const FORMS = 'any, a CID, a VM GUID, parent, loopback, wsl or vm:NAME';

function parseRule(text: unknown, field: string, platform: AddressPlatform | undefined): PeerRule {
  if (typeof text !== 'string') throw ERR_INVALID_ARG_TYPE(field, 'string', text);
  const entry = text.trim();
  const lower = entry.toLowerCase();
  if (lower === 'any') return { kind: 'any' };
  if (lower === 'parent' || lower === 'host') return platform === 'win32' ? { kind: 'vmId', vmId: HV_GUID_PARENT, text: 'parent' } : { kind: 'cid', cid: VMADDR_CID_HOST, text: 'parent' };
  if (lower === 'loopback') return platform === 'win32' ? { kind: 'vmId', vmId: HV_GUID_LOOPBACK, text: 'loopback' } : { kind: 'cid', cid: VMADDR_CID_LOCAL, text: 'loopback' };
  if (lower === 'wsl') {
    if (platform === 'linux') throw ERR_INVALID_ARG_VALUE(field, text, 'is WSL 2\'s VM, which only its Windows host sees as a peer: inside WSL the host is parent');
    return { kind: 'wsl' };
  }
  if (lower.startsWith('vm:')) {
    const name = entry.slice(3);
    if (name.trim() === '') throw ERR_INVALID_ARG_VALUE(field, text, 'must be vm:NAME, a Hyper-V VM\'s name');
    if (platform === 'linux') throw ERR_INVALID_ARG_VALUE(field, text, 'names a Hyper-V VM, which only a Windows host can look up: on Linux write its CID');
    return { kind: 'vm', name };
  }
  const cid = parseUint32Text(entry);
  if (cid !== undefined) {
    if (platform === 'win32') throw ERR_INVALID_ARG_VALUE(field, text, 'is a CID, which Windows peers do not have: write the VM\'s GUID or vm:NAME');
    return { kind: 'cid', cid, text: entry };
  }
  if (isGuid(entry)) {
    if (platform === 'linux') throw ERR_INVALID_ARG_VALUE(field, text, 'is a VM GUID, which Linux peers do not have: write the peer\'s CID');
    return { kind: 'vmId', vmId: normalizeGuid(entry), text: normalizeGuid(entry) };
  }
  throw ERR_INVALID_ARG_VALUE(field, text, `is not a peer: write ${FORMS}`);
}

/** Reads an allowlist (an array, or one comma-separated string as the CLI's --allow gives). */
export function parseAllowList(value: unknown, field: string, platform: AddressPlatform | undefined): PeerRule[] {
  const entries = typeof value === 'string' ? value.split(',') : value;
  if (!Array.isArray(entries)) throw ERR_INVALID_ARG_TYPE(field, ['Array', 'string'], value);
  if (entries.length === 0) throw ERR_INVALID_ARG_VALUE(field, value, `is empty: name the peers to let in (${FORMS})`);
  const rules = entries.map((entry, i) => parseRule(entry, typeof value === 'string' ? field : `${field}[${i}]`, platform));
  return rules.some((rule) => rule.kind === 'any') ? [{ kind: 'any' }] : rules;
}

/** The allowlist as it reads back: "any", "3, parent", "vm:MyVM, wsl". */
export function allowListText(rules: readonly PeerRule[]): string {
  return rules.map((rule) => (rule.kind === 'any' || rule.kind === 'wsl' ? rule.kind : rule.kind === 'vm' ? `vm:${rule.name}` : rule.text)).join(', ');
}

/**
 * Answers "may this peer come in?". CIDs and GUIDs are compared as they are;
 * names are looked up through `lookups` (which keeps answers for a while), so
 * a restarted WSL or a recreated VM is let in without restarting the forward.
 */
export class PeerFilter {
  readonly #rules: readonly PeerRule[];
  readonly #lookups: Lookups;

  constructor(rules: readonly PeerRule[], lookups: Lookups) {
    this.#rules = rules;
    this.#lookups = lookups;
  }

  get allowsAny(): boolean {
    return this.#rules.some((rule) => rule.kind === 'any');
  }

  /** Resolves true when the peer is on the list. Never rejects: a failed name lookup matches nothing. */
  async allows(peer: Partial<HvSocketAddress> | undefined): Promise<boolean> {
    if (this.allowsAny) return true;
    if (peer === undefined) return false;
    const vmId = peer.vmId === undefined ? undefined : normalizeGuid(peer.vmId);
    for (const rule of this.#rules) {
      if (rule.kind === 'cid' && peer.cid === rule.cid) return true;
      if (rule.kind === 'vmId' && vmId === rule.vmId) return true;
    }
    if (vmId === undefined) return false;
    for (const rule of this.#rules) {
      if (rule.kind !== 'vm' && rule.kind !== 'wsl') continue;
      const named = await (rule.kind === 'wsl' ? this.#lookups.wslVmId() : this.#lookups.vmId(rule.name)).catch(() => null);
      if (named !== null && normalizeGuid(named) === vmId) return true;
    }
    return false;
  }
}
