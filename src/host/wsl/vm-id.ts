// getWslVmId(): the ID of WSL 2's running utility VM, which a Windows listener
// must bind to hear WSL (a wildcard listener never does), and which changes
// every time WSL restarts. Sources, in order, each tried only if the one
// before failed, and every failure recorded:
//   on Windows   1. wsl.exe --list --running, then wslinfo --vm-id in a running
//                   distribution (no elevation; WSL releases since mid-2025)
//                2. HcsEnumerateComputeSystems, the system owned by "WSL"
//                   (administrators and Hyper-V Administrators only)
//                3. HKLM\…\HostComputeService\VolatileStore\ComputeSystem
//                4. hcsdiag list (administrators only)
//   inside WSL 2 1. $WSL2_VM_ID   2. wslinfo --vm-id  — the VM this distribution runs in
// None of them starts WSL: a lookup while WSL is down fails, it does not boot it.
// Where each source comes from: docs/hyperv-facts.md#wsl-2.
// wsl.exe and hcsdiag.exe run by full path, %SystemRoot%\System32\… (never
// looked for in the current folder: system-programs.ts), and a missing one is
// reported by that path.
import { isGuid, normalizeGuid } from '../../address/guid.js';
import {
  hcsErrorMessage,
  isWsl1Kernel,
  isWsl2Kernel,
  parseHcsComputeSystems,
  parseHcsdiagList,
  parseRunningDistributions,
  parseWslinfoVmId,
  pickRegistryVmId,
  type Found,
} from './parse.js';
import { systemProbes, type CommandOutcome, type WslProbes } from './probes.js';

/** Where getWslVmId() found (or looked for) the VM ID. */
export type WslVmIdSource = 'wsl.exe' | 'hcs' | 'registry' | 'hcsdiag' | 'env' | 'wslinfo' | 'platform';

/** A source that gave no VM ID, and why. */
export interface WslVmIdAttempt {
  /** The source tried. */
  source: WslVmIdSource;
  /** Why it gave no VM ID. */
  reason: string;
}

/** lookupWslVmId()'s answer: the VM ID, where it came from, and why the sources before it failed. */
export interface WslVmIdResult {
  /** Lowercase, without braces: ready for listen({ vmId }) / connect({ vmId }). */
  vmId: string;
  /** The source that answered. */
  source: WslVmIdSource;
  /** Why each source before it failed. */
  attempts: WslVmIdAttempt[];
}

/** The `code` of the error thrown (and of the 'wsldown' event's) when no running WSL 2 VM is found. */
export const ERR_WSL_VM_NOT_FOUND = 'ERR_WSL_VM_NOT_FOUND';

/** No running WSL 2 VM was found: every source was tried, and `attempts` says why each failed. */
export interface WslVmNotFoundError extends Error {
  code: typeof ERR_WSL_VM_NOT_FOUND;
  /** Every source tried, in order, with why it gave no VM ID. */
  attempts: WslVmIdAttempt[];
}

/** HCS_E_ACCESS_DENIED: HCS serves administrators and Hyper-V Administrators only. */
export const HCS_E_ACCESS_DENIED = 0x8037011b;

function wslVmNotFound(attempts: WslVmIdAttempt[]): WslVmNotFoundError {
  const list = attempts.map((a) => `${a.source}: ${a.reason}`).join('; ');
  const error = new Error(`no running WSL 2 VM was found (${list})`) as WslVmNotFoundError;
  error.code = ERR_WSL_VM_NOT_FOUND;
  error.attempts = attempts;
  return error;
}

function shown(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 160 ? `${line.slice(0, 160)}…` : line;
}

/** Why a program gave no usable output, or undefined when it ran and exited 0; `path` is the full path it was run by (Windows). */
function commandFailure(outcome: CommandOutcome, what: string, path?: string): string | undefined {
  if (outcome.error === 'ENOENT') return path === undefined ? `${what} was not found (ENOENT)` : `${what}: not found at ${path}`;
  if (outcome.error !== undefined) return `${what} did not finish (${outcome.error})`;
  if (outcome.exitCode !== 0) {
    const said = shown(outcome.stderr || outcome.stdout);
    return `${what} exited with code ${outcome.exitCode}${said === '' ? '' : `: ${said}`}`;
  }
  return undefined;
}

/** 1 (Windows): ask a running WSL 2 distribution. Never starts one: only distributions already running are asked. */
async function fromWslExe(probes: WslProbes): Promise<Found> {
  const wsl = probes.programPath('wsl.exe');
  const listed = await probes.run(wsl, ['--list', '--running', '--quiet']);
  const failed = commandFailure(listed, 'wsl.exe --list --running', wsl);
  if (failed !== undefined) return { reason: listed.error === 'ENOENT' ? `${failed}: WSL is not installed` : failed };
  const distributions = parseRunningDistributions(listed.stdout);
  if (distributions.length === 0) return { reason: 'no WSL distribution is running (WSL is not started to ask)' };
  const reasons: string[] = [];
  for (const name of distributions) {
    // --exec runs wslinfo itself, without the distribution's shell.
    const asked = await probes.run(wsl, ['--distribution', name, '--exec', 'wslinfo', '--vm-id']);
    const why = commandFailure(asked, 'wslinfo --vm-id', wsl);
    if (why !== undefined) {
      const old = /--vm-id|invalid|not found|no such file/i.test(asked.stderr + asked.stdout);
      reasons.push(`${name}: ${why}${old ? ' (WSL releases before mid-2025 have no wslinfo --vm-id: wsl --update)' : ''}`);
      continue;
    }
    const found = parseWslinfoVmId(asked.stdout);
    if ('vmId' in found) return found;
    reasons.push(`${name}: wslinfo ${found.reason}`);
  }
  return { reason: reasons.join('; ') };
}

/** 2 (Windows): the Host Compute Service's own list. */
async function fromHcs(probes: WslProbes): Promise<Found> {
  const answer = await probes.enumerateComputeSystems();
  if ('missing' in answer) {
    return {
      reason: answer.missing === 'computecore.dll'
        ? `computecore.dll could not be loaded (Win32 error ${answer.error}): the HCS API needs Windows 10 1809 or later`
        : `${answer.missing} is missing${answer.error === 0 ? '' : ` (Win32 error ${answer.error})`}`,
    };
  }
  if (answer.hresult === HCS_E_ACCESS_DENIED) {
    return { reason: 'HCS_E_ACCESS_DENIED (0x8037011B): only administrators and members of Hyper-V Administrators may list compute systems' };
  }
  if (answer.hresult !== 0) {
    const message = hcsErrorMessage(answer.document);
    return { reason: `HcsEnumerateComputeSystems failed with 0x${answer.hresult.toString(16).toUpperCase().padStart(8, '0')}${message === '' ? '' : `: ${message}`}` };
  }
  const found = parseHcsComputeSystems(answer.document);
  return 'vmId' in found ? found : { reason: `HcsEnumerateComputeSystems ${found.reason}` };
}

/** 3 (Windows): HCS's volatile registry mirror, readable without elevation. */
function fromRegistry(probes: WslProbes): Found {
  const listing = probes.readComputeSystems();
  if ('error' in listing) {
    const reason =
      listing.error === 'ENOENT'
        ? 'HKLM\\…\\HostComputeService\\VolatileStore\\ComputeSystem does not exist (no compute system runs; it was also seen missing after a WSL update, rancher-desktop#3139)'
        : `HKLM\\…\\HostComputeService\\VolatileStore\\ComputeSystem could not be read (${listing.error})`;
    return { reason };
  }
  const found = pickRegistryVmId(listing.keys);
  return 'vmId' in found ? found : { reason: `VolatileStore\\ComputeSystem ${found.reason}` };
}

/** 4 (Windows): the administrators' diagnostic tool. */
async function fromHcsdiag(probes: WslProbes): Promise<Found> {
  const hcsdiag = probes.programPath('hcsdiag.exe');
  const listed = await probes.run(hcsdiag, ['list']);
  const failed = commandFailure(listed, 'hcsdiag list', hcsdiag);
  if (failed !== undefined) return { reason: listed.error === undefined ? `${failed} (it needs an elevated prompt)` : failed };
  const found = parseHcsdiagList(listed.stdout);
  return 'vmId' in found ? found : { reason: `hcsdiag list ${found.reason}` };
}

/** Inside WSL 2: the VM this distribution runs in. */
async function fromInsideWsl(probes: WslProbes, attempts: WslVmIdAttempt[]): Promise<WslVmIdResult | undefined> {
  const fromEnv = probes.env.WSL2_VM_ID;
  if (fromEnv !== undefined && isGuid(fromEnv.trim())) {
    return { vmId: normalizeGuid(fromEnv.trim()), source: 'env', attempts };
  }
  attempts.push({
    source: 'env',
    reason: fromEnv === undefined
      ? 'WSL2_VM_ID is not set (WSL passes it to its system distribution, where WSLg runs, and removes it for user distributions)'
      : `WSL2_VM_ID is "${shown(fromEnv)}", not a GUID`,
  });
  const asked = await probes.run('wslinfo', ['--vm-id']);
  const failed = commandFailure(asked, 'wslinfo --vm-id');
  const found: Found = failed !== undefined ? { reason: failed } : parseWslinfoVmId(asked.stdout);
  if ('vmId' in found) return { vmId: found.vmId, source: 'wslinfo', attempts };
  attempts.push({ source: 'wslinfo', reason: failed ?? `wslinfo ${found.reason}` });
  return undefined;
}

/**
 * The running WSL 2 VM's ID with the source that gave it, trying each source
 * in order; rejects with ERR_WSL_VM_NOT_FOUND (its `attempts` say why each
 * failed) when none does. `probes` replaces the system's sources (tests).
 */
export async function lookupWslVmId(probes: Partial<WslProbes> = {}): Promise<WslVmIdResult> {
  const sources: WslProbes = { ...systemProbes(), ...probes };
  const attempts: WslVmIdAttempt[] = [];
  if (sources.platform === 'win32') {
    const steps: Array<[WslVmIdSource, () => Found | Promise<Found>]> = [
      ['wsl.exe', () => fromWslExe(sources)],
      ['hcs', () => fromHcs(sources)],
      ['registry', () => fromRegistry(sources)],
      ['hcsdiag', () => fromHcsdiag(sources)],
    ];
    for (const [source, step] of steps) {
      let found: Found;
      try {
        found = await step();
      } catch (error) {
        // A probe that throws (the addon refusing, say) is one more reason, not the end.
        found = { reason: `failed: ${(error as Error)?.message ?? String(error)}` };
      }
      if ('vmId' in found) return { vmId: found.vmId, source, attempts };
      attempts.push({ source, reason: found.reason });
    }
  } else if (sources.platform === 'linux' && isWsl2Kernel(sources.kernelRelease)) {
    const found = await fromInsideWsl(sources, attempts);
    if (found !== undefined) return found;
  } else if (sources.platform === 'linux' && isWsl1Kernel(sources.kernelRelease)) {
    attempts.push({ source: 'platform', reason: `this is WSL 1 (kernel ${sources.kernelRelease}), which runs no VM: wsl --set-version <distribution> 2` });
  } else {
    attempts.push({
      source: 'platform',
      reason: `WSL 2 runs on Windows; this is ${sources.platform} (kernel ${sources.kernelRelease}), neither Windows nor a WSL 2 distribution`,
    });
  }
  throw wslVmNotFound(attempts);
}

/**
 * The running WSL 2 VM's ID, lowercase: on Windows the VM to bind or dial
 * (listen({ vmId, port }) hears WSL's connections to CID 2; connect reaches a
 * WSL listener), inside WSL 2 the VM it runs in. Rejects with
 * ERR_WSL_VM_NOT_FOUND listing every source tried.
 */
export async function getWslVmId(probes?: Partial<WslProbes>): Promise<string> {
  return (await lookupWslVmId(probes)).vmId;
}

/**
 * For a server that follows WSL: `previous` while HCS's registry mirror still
 * lists it (a cheap read, no program started: WSL has not restarted, since a
 * new VM has a new ID), otherwise a full lookup. Where the mirror cannot be
 * read, every call is a full lookup, which runs wsl.exe twice.
 */
export async function followWslVmId(previous: string | null, probes: Partial<WslProbes> = {}): Promise<string> {
  if (previous !== null) {
    const listing = (probes.readComputeSystems ?? systemProbes().readComputeSystems)();
    if ('keys' in listing && listing.keys.some((key) => isGuid(key.name) && normalizeGuid(key.name) === previous)) return previous;
  }
  return getWslVmId(probes);
}
