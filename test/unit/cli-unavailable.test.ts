// The built `hvsock` command, run as users run it, off Windows: the
// Windows-host commands (service registry, Hyper-V VMs) exit 3, "not available
// on this machine" (README, "The hvsock command"), and say why in one line on
// stderr, without a stack trace. None of them opens a socket: the service
// commands stop at the registry check, the VM commands at the missing
// powershell.exe. Needs `npm run build:ts` (dist/).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const CLI = join(__dirname, '..', '..', 'dist', 'cjs', 'cli', 'main.js');

function hvsock(...args: string[]) {
  // No powershell.exe on the PATH: a Linux machine with one (WSL interop, a
  // pwsh shim) would otherwise run it.
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, PATH: '/nonexistent' } });
  if (r.error) throw r.error;
  return r;
}

const SERVICE = /^hvsock: \S+ ENOSYS: Hyper-V service registration is done on the Windows host; this is \w+\n$/;
const VM = /^hvsock: powershell ENOSYS: Hyper-V VM management needs Windows with PowerShell\n$/;

describe.skipIf(process.platform === 'win32')('hvsock Windows-host commands off Windows', () => {
  const cases: Array<[string[], RegExp]> = [
    [['service', 'list'], SERVICE],
    [['service', 'list', '--json'], SERVICE],
    [['service', 'register', '--name', 'test service', '--service-id', '5000'], SERVICE],
    [['service', 'unregister', '5000'], SERVICE],
    [['vm', 'list'], VM],
    [['vm', 'list', '--json'], VM],
    [['vm', 'id', 'MyVM'], VM],
    [['vm', 'nested', 'MyVM'], VM],
    [['vm', 'nested', 'MyVM', '--enable'], VM],
  ];
  for (const [argv, message] of cases) {
    it(`hvsock ${argv.join(' ')}: exit 3 and why`, () => {
      const r = hvsock(...argv);
      expect(r.status, r.stderr).toBe(3);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe('');
    });
  }

  it('a usage error still wins over the platform: exit 2, before anything is tried', () => {
    const r = hvsock('service', 'register');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/takes --name/);
  });
});
