// The Windows programs the host tools start (powershell.exe, wsl.exe,
// hcsdiag.exe), always by full path under the Windows directory, never by
// bare name. For a bare name, libuv's uv_spawn on Windows (which
// child_process uses) looks in the current folder first and only then along
// PATH (libuv:src/win/process.c, search_path(): "If there's really only a
// filename, check the current directory for file, then search all path
// directories"; "Do not search the path if the filename already contains a
// path"). An elevated `hvsock vm nested` started in a writable folder, or a
// server following WSL (a lookup every 5 s while WSL is down), would run a
// wsl.exe or powershell.exe planted there. An absolute path is only looked
// for where it points (libuv then tries it as given, then with .com and .exe
// appended, in that same folder).
import { existsSync } from 'node:fs';
import { win32 } from 'node:path';

/** The programs the host tools start. */
export type SystemProgram = 'powershell.exe' | 'wsl.exe' | 'hcsdiag.exe';

/** Where each program lives below the system folder (System32), as Windows installs them. */
const BELOW_SYSTEM_FOLDER: Readonly<Record<SystemProgram, readonly string[]>> = {
  // Windows PowerShell 5.1, the one every Windows 10/11 and Server has (not pwsh 7, a separate install).
  'powershell.exe': ['WindowsPowerShell', 'v1.0', 'powershell.exe'],
  'wsl.exe': ['wsl.exe'],
  'hcsdiag.exe': ['hcsdiag.exe'],
};

/** The Windows folder when the environment gives none that is usable: Windows' default location. */
export const DEFAULT_SYSTEM_ROOT = 'C:\\Windows';

/** What the paths depend on; the running process's by default, a test's own in unit tests. */
export interface SystemProgramContext {
  /** The environment SystemRoot is read from (case-insensitively, as Windows does). */
  env: Readonly<Record<string, string | undefined>>;
  /** process.arch: only 32-bit Node ('ia32') needs Sysnative. */
  arch: string;
  /** Whether a folder exists (only asked about Sysnative). */
  exists: (path: string) => boolean;
}

function processContext(): SystemProgramContext {
  return { env: process.env, arch: process.arch, exists: existsSync };
}

function variable(env: SystemProgramContext['env'], name: string): string | undefined {
  if (env[name] !== undefined) return env[name];
  const key = Object.keys(env).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : env[key];
}

/**
 * The Windows folder: %SystemRoot% when it is an absolute local path
 * (`X:\…`), otherwise C:\Windows. A relative or empty value would bring the
 * current folder back into the search, so it is not used. %windir% is not
 * consulted: it is the variable the known scheduled-task UAC bypasses set per
 * user in HKCU\Environment. Beyond that the environment is trusted as PATH
 * is: whoever sets hvsock's environment could as well set NODE_OPTIONS.
 */
export function systemRoot(env: SystemProgramContext['env'] = process.env): string {
  const value = variable(env, 'SystemRoot')?.trim();
  if (value === undefined || !/^[A-Za-z]:[\\/]/.test(value) || value.includes('\0')) return DEFAULT_SYSTEM_ROOT;
  const normalized = win32.normalize(value);
  // normalize() resolves "..", and keeps "C:\" as it is.
  return normalized.length > 3 ? normalized.replace(/\\+$/, '') : normalized;
}

/**
 * The folder the system's 64-bit programs are seen in: System32, except for
 * 32-bit Node on 64-bit Windows, to which WOW64's file system redirector
 * shows SysWOW64 as System32 (32-bit programs, not every 64-bit one has a
 * 32-bit copy): it reaches the real System32 through the Sysnative alias,
 * which exists for 32-bit processes only
 * (https://learn.microsoft.com/windows/win32/winprog64/file-system-redirector).
 * hvsock ships win32-x64 builds only; this keeps the paths right should the
 * host tools run in a 32-bit Node all the same.
 */
export function systemFolder(context: SystemProgramContext = processContext()): string {
  const root = systemRoot(context.env);
  if (context.arch === 'ia32') {
    const sysnative = win32.join(root, 'Sysnative');
    if (context.exists(sysnative)) return sysnative;
  }
  return win32.join(root, 'System32');
}

/** A system program's full path, e.g. C:\Windows\System32\wsl.exe. */
export function systemProgramPath(program: SystemProgram, context: SystemProgramContext = processContext()): string {
  return win32.join(systemFolder(context), ...BELOW_SYSTEM_FOLDER[program]);
}
