// Readers for what each WSL VM ID source prints, kept pure so that each one
// is unit-tested on recorded output. Each returns the VM ID or the reason it
// could not tell (which getWslVmId records), never throws on odd input.
import { isGuid, normalizeGuid } from '../../address/guid.js';

export type Found = { vmId: string } | { reason: string };

/** The value under each compute system's key that marks WSL's utility VM (see pickRegistryVmId). */
export const WSL_COMPUTE_SYSTEM_TYPE = 2;

/** HCS's owner name for WSL's utility VM (microsoft/WSL: wslutil.h c_vmOwner). */
export const WSL_OWNER = 'WSL';

/** At most this much of a program's output goes into a reason. */
const SHOWN = 160;

function shown(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > SHOWN ? `${line.slice(0, SHOWN)}…` : line;
}

/**
 * Windows console programs may write UTF-16LE (wsl.exe does unless WSL_UTF8=1,
 * and older releases ignore that variable); Linux programs behind wsl.exe
 * write UTF-8. Tells them apart by the BOM or by NUL high bytes.
 */
export function decodeConsoleOutput(bytes: Buffer): string {
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) return bytes.subarray(2).toString('utf16le');
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return bytes.subarray(3).toString('utf8');
  let pairs = 0;
  let nulHigh = 0;
  for (let i = 0; i + 1 < bytes.length && pairs < 64; i += 2, pairs++) {
    if (bytes[i + 1] === 0 && bytes[i] !== 0) nulHigh++;
  }
  return pairs > 0 && nulHigh * 2 > pairs ? bytes.toString('utf16le') : bytes.toString('utf8');
}

const NIL_GUID = '00000000-0000-0000-0000-000000000000';

/** A GUID on its own (braces allowed), lowercased; undefined otherwise. The nil GUID names no VM. */
function guidOf(text: string): string | undefined {
  const trimmed = text.trim();
  const guid = isGuid(trimmed) ? normalizeGuid(trimmed) : undefined;
  return guid === NIL_GUID ? undefined : guid;
}

/**
 * `wslinfo --vm-id` prints the VM's GUID in upper case without braces
 * (microsoft/WSL:src/linux/init/wslinfo.cpp, WslCoreVm's m_machineId), or
 * "wsl1" in a WSL 1 distribution, which has no VM.
 */
export function parseWslinfoVmId(stdout: string): Found {
  const text = stdout.replace(/\0/g, '').trim();
  if (text.toLowerCase() === 'wsl1') return { reason: 'the distribution runs under WSL 1, which has no VM' };
  const vmId = guidOf(text);
  if (vmId !== undefined) return { vmId };
  return { reason: text === '' ? 'printed nothing' : `printed "${shown(text)}", not a GUID` };
}

/** `wsl.exe --list --running --quiet`: one running distribution name per line, nothing when none runs. */
export function parseRunningDistributions(stdout: string): string[] {
  return stdout
    .replace(/\0/g, '')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

/** Exactly one ID is an answer; none or several is a reason, in the caller's words. */
function single(ids: string[], none: string, several: (n: number) => string): Found {
  const unique = [...new Set(ids)];
  if (unique.length === 1) return { vmId: unique[0] as string };
  return { reason: unique.length === 0 ? none : several(unique.length) };
}

/** On a machine with several Windows users running WSL, each has a VM of their own. */
const SEVERAL_WSL_VMS = (n: number): string =>
  `${n} WSL VMs run (WSL runs one per Windows user); nothing here tells which one is this user's`;

/**
 * HcsEnumerateComputeSystems' result: a JSON array of compute systems, e.g.
 * [{"Id":"…","SystemType":"VirtualMachine","Owner":"WSL","RuntimeId":"…","State":"Running"}].
 * WSL's VM is the one whose Owner is "WSL"; its RuntimeId (else its Id, which
 * for other owners may not even be a GUID) is the VM ID sockets bind.
 */
export function parseHcsComputeSystems(json: string): Found {
  let raw: unknown;
  try {
    raw = json.trim() === '' ? [] : JSON.parse(json);
  } catch {
    return { reason: `returned a document that is not JSON: "${shown(json)}"` };
  }
  if (raw === null) raw = [];
  if (!Array.isArray(raw)) return { reason: `returned ${shown(JSON.stringify(raw))}, not a list of compute systems` };
  const ids: string[] = [];
  for (const system of raw as Array<Record<string, unknown> | null>) {
    if (system === null || typeof system !== 'object' || system.Owner !== WSL_OWNER) continue;
    const id = [system.RuntimeId, system.Id].map((v) => (typeof v === 'string' ? guidOf(v) : undefined)).find(Boolean);
    if (id !== undefined) ids.push(id);
  }
  return single(ids, `lists ${raw.length} compute system(s), none owned by ${WSL_OWNER}: WSL is not running`, SEVERAL_WSL_VMS);
}

/** HCS's error document ({"Error":…,"ErrorMessage":"…"}), for a reason; '' when there is none. */
export function hcsErrorMessage(document: string): string {
  try {
    const parsed = JSON.parse(document) as { ErrorMessage?: unknown };
    return typeof parsed?.ErrorMessage === 'string' ? shown(parsed.ErrorMessage) : '';
  } catch {
    return shown(document);
  }
}

export interface ComputeSystemKey {
  /** The subkey's name: the compute system's ID. */
  name: string;
  /** Its ComputeSystemType DWORD, or null when it has none (or it could not be read). */
  computeSystemType: number | null;
}

/**
 * The subkeys of HKLM\…\HostComputeService\VolatileStore\ComputeSystem name
 * every running HCS compute system: WSL's VM, but also Windows Sandbox,
 * Hyper-V-isolated containers, Windows Subsystem for Android… Each carries a
 * ComputeSystemType DWORD; WSL's VM has 2. That value is what open-source WSL
 * tools filter on; Microsoft does not document it, and other utility VMs
 * built like WSL's may share it. So: exactly one subkey of type 2 is the
 * answer; several are ambiguous; and where no subkey has the value at all,
 * only a lone compute system is taken (what Rancher Desktop's
 * handshake_windows.go can only resolve by dialing each one).
 */
export function pickRegistryVmId(keys: readonly ComputeSystemKey[]): Found {
  const systems = keys.filter((key) => isGuid(key.name));
  if (systems.length === 0) return { reason: 'lists no running compute system: WSL is not running' };
  const typed = systems.filter((key) => key.computeSystemType !== null);
  if (typed.length > 0) {
    const wsl = typed.filter((key) => key.computeSystemType === WSL_COMPUTE_SYSTEM_TYPE).map((key) => normalizeGuid(key.name));
    return single(
      wsl,
      `lists ${systems.length} compute system(s), none with ComputeSystemType ${WSL_COMPUTE_SYSTEM_TYPE} (WSL's VM): WSL is not running`,
      (n) => `lists ${n} compute systems with ComputeSystemType ${WSL_COMPUTE_SYSTEM_TYPE} (WSL's, or another utility VM built like it); nothing here tells which one is WSL's`,
    );
  }
  return single(
    systems.map((key) => normalizeGuid(key.name)),
    'lists no running compute system',
    (n) => `lists ${n} compute systems without a ComputeSystemType value; nothing here tells which one is WSL's`,
  );
}

/**
 * `hcsdiag list` prints each compute system as its name, then an indented
 * line "VM, Running, <ID in upper case>, <owner>" (fields padded with spaces
 * and tabs). WSL's VM is the running VM whose owner is WSL.
 */
export function parseHcsdiagList(stdout: string): Found {
  const ids: string[] = [];
  for (const line of stdout.replace(/\0/g, '').split(/\r?\n/)) {
    const fields = line.split(',').map((field) => field.trim());
    if (fields.length < 4) continue;
    const [type, state, id, owner] = fields as [string, string, string, string];
    const vmId = guidOf(id);
    if (type === 'VM' && state === 'Running' && owner === WSL_OWNER && vmId !== undefined) ids.push(vmId);
  }
  return single(ids, `lists no running VM owned by ${WSL_OWNER}: WSL is not running`, SEVERAL_WSL_VMS);
}

/** WSL 2's kernel release (uname -r, /proc/sys/kernel/osrelease) reads like "5.15.167.4-microsoft-standard-WSL2". */
export function isWsl2Kernel(release: string): boolean {
  return /microsoft-standard-wsl2/i.test(release);
}

/** WSL 1 has no Linux kernel; its release string ends in "-Microsoft" (e.g. "4.4.0-19041-Microsoft"). */
export function isWsl1Kernel(release: string): boolean {
  return !isWsl2Kernel(release) && /-microsoft$/i.test(release.trim());
}
