// The real sources behind getWslVmId: programs (wsl.exe, hcsdiag, wslinfo)
// run with argument arrays and never a shell, the Windows ones by full path
// (system-programs.ts says why), the registry and HCS through
// the addon. Everything here only gathers; judging is in parse.ts and the
// order in vm-id.ts, where tests put recorded answers in their place.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { release } from 'node:os';
import { win32 } from 'node:path';
import { getSystemErrorName } from 'node:util';
import { loadBinding } from '../../transport/native.js';
import { decodeConsoleOutput, type ComputeSystemKey } from './parse.js';
import { systemProgramPath, type SystemProgram } from '../system-programs.js';

/** Where HCS mirrors every running compute system, one subkey per ID (under HKLM). */
export const COMPUTE_SYSTEMS_KEY = 'SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\HostComputeService\\VolatileStore\\ComputeSystem';
/** A program that has not answered by then is stuck (a hung WSL service, say). */
export const COMMAND_TIMEOUT_MS = 15_000;
/** HcsWaitForOperationResult's limit for the enumeration. */
export const HCS_TIMEOUT_MS = 10_000;

export interface CommandOutcome {
  /** The exit code, or null when the program did not run to an exit (see error). */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** Why it did not run or finish: 'ENOENT' (no such program), 'ETIMEDOUT' (killed after the timeout)… */
  error?: string;
}

/** Runs a program with an argument array, never through a shell; resolves, never rejects. */
export type CommandRunner = (file: string, args: readonly string[]) => Promise<CommandOutcome>;

/** The compute systems' subkeys, or the error code that kept them from being read. */
export type ComputeSystemListing = { keys: ComputeSystemKey[] } | { error: string };

/** What the addon's hcs.enumerate resolves with (native/win/hcs.cc). */
export type HcsAnswer = { hresult: number; document: string } | { missing: string; error: number };

export interface WslProbes {
  platform: NodeJS.Platform;
  /** The kernel release: uname -r, the same string as /proc/sys/kernel/osrelease. */
  kernelRelease: string;
  env: Readonly<Record<string, string | undefined>>;
  /** A Windows program's full path (C:\Windows\System32\wsl.exe): what `run` is given, never a bare name. */
  programPath: (program: SystemProgram) => string;
  run: CommandRunner;
  readComputeSystems: () => ComputeSystemListing;
  enumerateComputeSystems: () => Promise<HcsAnswer>;
}

export const runCommand: CommandRunner = (file, args) =>
  new Promise((resolve) => {
    // On Windows a name without a folder would be looked for in the current folder first (system-programs.ts).
    if (process.platform === 'win32' && !win32.isAbsolute(file)) {
      resolve({ exitCode: null, stdout: '', stderr: '', error: `refused to run ${file} by bare name (a full path is needed on Windows)` });
      return;
    }
    execFile(
      file,
      [...args],
      {
        encoding: 'buffer',
        windowsHide: true,
        timeout: COMMAND_TIMEOUT_MS,
        maxBuffer: 1 << 20,
        // wsl.exe writes UTF-16 to a pipe unless told otherwise (decodeConsoleOutput copes with both).
        env: { ...process.env, WSL_UTF8: '1' },
      },
      (error, stdout, stderr) => {
        const outcome: CommandOutcome = { exitCode: 0, stdout: decodeConsoleOutput(stdout), stderr: decodeConsoleOutput(stderr) };
        if (error !== null) {
          const code = (error as NodeJS.ErrnoException).code as unknown;
          if (typeof code === 'number') outcome.exitCode = code;
          else {
            outcome.exitCode = null;
            outcome.error = error.killed ? 'ETIMEDOUT' : typeof code === 'string' ? code : error.message;
          }
        }
        resolve(outcome);
      },
    );
  });

interface RegistryBinding {
  subkeys(path: string): string[] | number;
  dword(path: string, name: string): number;
}

interface HcsBinding {
  enumerate(query: string, timeoutMs: number): Promise<HcsAnswer>;
}

function windowsBinding<T>(name: 'registry' | 'hcs'): T | string {
  if (process.platform !== 'win32') return 'ENOSYS';
  try {
    const part = (loadBinding() as unknown as Record<string, T | undefined>)[name];
    return part ?? 'ENOSYS';
  } catch (error) {
    return String((error as { code?: unknown }).code ?? error);
  }
}

export function readComputeSystems(): ComputeSystemListing {
  const registry = windowsBinding<RegistryBinding>('registry');
  if (typeof registry === 'string') return { error: registry };
  const names = registry.subkeys(COMPUTE_SYSTEMS_KEY);
  if (typeof names === 'number') return { error: getSystemErrorName(names) };
  return {
    keys: names.map((name) => {
      const type = registry.dword(`${COMPUTE_SYSTEMS_KEY}\\${name}`, 'ComputeSystemType');
      return { name, computeSystemType: type >= 0 ? type : null };
    }),
  };
}

export async function enumerateComputeSystems(): Promise<HcsAnswer> {
  const hcs = windowsBinding<HcsBinding>('hcs');
  // The addon's Windows build always has it; a missing one reads like a missing DLL.
  if (typeof hcs === 'string') return { missing: `the addon's HCS access (${hcs})`, error: 0 };
  // "{}" queries every compute system (hcsshim sends the same); WSL's is picked in TypeScript.
  return hcs.enumerate('{}', HCS_TIMEOUT_MS);
}

function kernelRelease(): string {
  try {
    return readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  } catch {
    return release();
  }
}

/** The running machine's sources. */
export function systemProbes(): WslProbes {
  return {
    platform: process.platform,
    kernelRelease: kernelRelease(),
    env: process.env,
    programPath: (program) => systemProgramPath(program),
    run: runCommand,
    readComputeSystems,
    enumerateComputeSystems,
  };
}
