// Where the host tools find the Windows programs they start: a full path
// under the Windows folder, whatever the environment says, so that libuv's
// search of the current folder for a bare name (libuv:src/win/process.c,
// search_path()) never comes into play. Pure: each case gives its own
// environment, architecture and file system answer.
import { win32 } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SYSTEM_ROOT, systemFolder, systemProgramPath, systemRoot, type SystemProgramContext } from '../../../src/host/system-programs.js';

const on = (env: Record<string, string | undefined>, arch = 'x64', folders: string[] = []): SystemProgramContext => ({
  env,
  arch,
  exists: (path) => folders.includes(path),
});

describe('the Windows folder (SystemRoot)', () => {
  it('is %SystemRoot% as Windows sets it, read case-insensitively', () => {
    expect(systemRoot({ SystemRoot: 'C:\\WINDOWS' })).toBe('C:\\WINDOWS');
    expect(systemRoot({ SYSTEMROOT: 'D:\\Win' })).toBe('D:\\Win');
    expect(systemRoot({ systemroot: 'E:\\Windows\\' })).toBe('E:\\Windows');
  });

  it('falls back to C:\\Windows when unset, empty, relative or odd: never a path the current folder would complete', () => {
    expect(DEFAULT_SYSTEM_ROOT).toBe('C:\\Windows');
    for (const value of [undefined, '', '   ', '.', 'Windows', '.\\Windows', 'C:Windows', '\\Windows', '\\\\server\\share\\Windows', 'C:\\Win\0dows']) {
      expect(systemRoot({ SystemRoot: value }), String(value)).toBe('C:\\Windows');
    }
  });

  it('does not take %windir% (a per-user variable) in SystemRoot\'s place', () => {
    expect(systemRoot({ windir: 'C:\\Users\\me\\fake' })).toBe('C:\\Windows');
  });

  it('normalizes what it keeps: forward slashes, "..", a drive root', () => {
    expect(systemRoot({ SystemRoot: 'C:/Windows' })).toBe('C:\\Windows');
    expect(systemRoot({ SystemRoot: 'C:\\Temp\\..\\Windows' })).toBe('C:\\Windows');
    expect(systemRoot({ SystemRoot: 'C:\\' })).toBe('C:\\');
  });
});

describe('the system programs by full path', () => {
  const root = { SystemRoot: 'C:\\Windows' };

  it('wsl.exe and hcsdiag.exe in System32, Windows PowerShell in System32\\WindowsPowerShell\\v1.0', () => {
    expect(systemProgramPath('wsl.exe', on(root))).toBe('C:\\Windows\\System32\\wsl.exe');
    expect(systemProgramPath('hcsdiag.exe', on(root))).toBe('C:\\Windows\\System32\\hcsdiag.exe');
    expect(systemProgramPath('powershell.exe', on(root))).toBe('C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe');
    expect(systemProgramPath('wsl.exe', on({}))).toBe('C:\\Windows\\System32\\wsl.exe');
    expect(systemProgramPath('wsl.exe', on({ SystemRoot: 'D:\\Win' }))).toBe('D:\\Win\\System32\\wsl.exe');
  });

  it('every path is absolute with a drive, so uv_spawn looks nowhere else', () => {
    for (const program of ['wsl.exe', 'hcsdiag.exe', 'powershell.exe'] as const) {
      for (const env of [{}, root, { SystemRoot: '.' }, { SystemRoot: 'relative\\dir' }]) {
        const path = systemProgramPath(program, on(env));
        expect(win32.isAbsolute(path) && /^[A-Za-z]:\\/.test(path), path).toBe(true);
        expect(win32.basename(path)).toBe(program);
      }
    }
  });

  it('32-bit Node on 64-bit Windows goes through Sysnative (WOW64 would show it SysWOW64 as System32); 64-bit Node never does', () => {
    const sysnative = 'C:\\Windows\\Sysnative';
    expect(systemFolder(on(root, 'ia32', [sysnative]))).toBe(sysnative);
    expect(systemProgramPath('wsl.exe', on(root, 'ia32', [sysnative]))).toBe('C:\\Windows\\Sysnative\\wsl.exe');
    // 32-bit Windows: no WOW64, no Sysnative; System32 is the native folder.
    expect(systemFolder(on(root, 'ia32'))).toBe('C:\\Windows\\System32');
    expect(systemFolder(on(root, 'x64', [sysnative]))).toBe('C:\\Windows\\System32');
    expect(systemFolder(on(root, 'arm64', [sysnative]))).toBe('C:\\Windows\\System32');
  });

  it('the running process: its own SystemRoot, or C:\\Windows off Windows', () => {
    const expected = process.platform === 'win32' ? systemRoot(process.env) : 'C:\\Windows';
    expect(systemProgramPath('wsl.exe')).toBe(win32.join(systemFolder(), 'wsl.exe'));
    expect(systemFolder().startsWith(expected)).toBe(true);
  });
});
