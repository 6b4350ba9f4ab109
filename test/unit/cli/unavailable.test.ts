// The built `hvsock` command, run as users run it, off Windows: the
// Windows-host commands (service registry, Hyper-V VMs) exit 3, "not available
// on this machine" (docs/cli.md), and say so in one line on
// stderr in the CLI's words (no ENOSYS, no Win32 call), without a stack trace.
// None of them tries anything: the platform is checked before the registry
// or PowerShell is touched. Needs `npm run build:ts` (dist/).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const CLI = join(__dirname, '..', '..', '..', 'dist', 'cjs', 'cli', 'main.js');

function hvsock(...args: string[]) {
  // No powershell.exe on the PATH: a Linux machine with one (WSL interop, a
  // pwsh shim) would otherwise run it.
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, PATH: '/nonexistent' } });
  if (r.error) throw r.error;
  return r;
}

const SERVICE = (action: string) => `hvsock service ${action}: Hyper-V service registration is a Windows-host command; this machine runs ${process.platform}\n`;
const VM = (action: string) => `hvsock vm ${action}: Hyper-V VM management is a Windows-host command; this machine runs ${process.platform}\n`;

describe.skipIf(process.platform === 'win32')('hvsock Windows-host commands off Windows', () => {
  const cases: Array<[string[], string]> = [
    [['service', 'list'], SERVICE('list')],
    [['service', 'list', '--json'], SERVICE('list')],
    [['service', 'register', '--name', 'test service', '--service-id', '5000'], SERVICE('register')],
    [['service', 'unregister', '5000'], SERVICE('unregister')],
    [['vm', 'list'], VM('list')],
    [['vm', 'list', '--json'], VM('list')],
    [['vm', 'id', 'MyVM'], VM('id')],
    [['vm', 'nested', 'MyVM'], VM('nested')],
    [['vm', 'nested', 'MyVM', '--enable'], VM('nested')],
  ];
  for (const [argv, message] of cases) {
    it(`hvsock ${argv.join(' ')}: exit 3 and why`, () => {
      const r = hvsock(...argv);
      expect(r.status, r.stderr).toBe(3);
      expect(r.stderr).toBe(message);
      expect(r.stderr).not.toMatch(/ENOSYS|RegOpenKeyExW|powershell/);
      expect(r.stdout).toBe('');
    });
  }

  it('a usage error still wins over the platform: exit 2, before anything is tried', () => {
    const r = hvsock('service', 'register');
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('hvsock service register: needs --name <name> (see hvsock help service)\n');
    const bogus = hvsock('service', 'register', '--name', 'x', '--service-id', 'bogus');
    expect(bogus.status).toBe(2);
    expect(bogus.stderr).toBe('hvsock service register: --service-id must be a GUID or a port (0 to 0x7FFFFFFF), got "bogus"\n');
  });

  it('the built command answers --version and help like the source', () => {
    const version = hvsock('--version');
    expect(version.status).toBe(0);
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+\S*\n$/);
    const help = hvsock('help', 'doctor');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: hvsock doctor \[--json\]/);
    const foreign = hvsock('doctor', '--keep-open', '--name', 'foo', '--mib', '5');
    expect(foreign.status).toBe(2);
    expect(foreign.stderr).toBe('hvsock doctor: --keep-open is not an option of doctor, which takes --json (see hvsock help doctor)\n');
  });
});
