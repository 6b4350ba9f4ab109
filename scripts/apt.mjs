// Debian packages a build or test harness needs, installed on first use:
// the VM harness (qemu), the Wine harness (wine64, mingw-w64) and the
// prebuild script (cross compilers).
import { spawnSync } from 'node:child_process';

export function run(cmd, args, { log, capture = false, cwd, who = 'hvsock' } = {}) {
  const r = spawnSync(cmd, args, {
    cwd,
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    // apt's chatter belongs on stderr: the caller's stdout is the command's.
    stdio: ['ignore', capture ? 'pipe' : 2, capture ? 'pipe' : 2],
    encoding: 'utf8',
    maxBuffer: 256 << 20,
  });
  if (r.error) throw new Error(`${who}: cannot run ${cmd}: ${r.error.message}`);
  if (r.status !== 0 && log) log(`${cmd} ${args.join(' ')} exited with ${r.status}`);
  return r;
}

/** apt-get update at most once per run, and only when something failed without it. */
export function makeUpdater(log) {
  let done = false;
  return () => {
    if (done) return false;
    done = true;
    log('refreshing the apt package lists');
    run('apt-get', ['update', '-q'], { log });
    return true;
  };
}

export function missingPackages(packages) {
  const r = run('dpkg-query', ['-W', '-f=${Package} ${db:Status-Abbrev}\n', ...packages], { capture: true });
  const installed = new Set(
    r.stdout.split('\n').filter((l) => / ii\s*$/.test(l)).map((l) => l.split(' ')[0]),
  );
  return packages.filter((p) => !installed.has(p));
}

export function ensurePackages(packages, log, update, who = 'hvsock') {
  let missing = missingPackages(packages);
  if (missing.length === 0) return;
  log(`installing ${missing.join(' ')}`);
  const install = () =>
    run('apt-get', ['install', '-y', '-q', '-o', 'Dpkg::Use-Pty=0', '--no-install-recommends', ...missing], { log })
      .status === 0;
  if (!install() && update()) install();
  missing = missingPackages(packages);
  if (missing.length) throw new Error(`${who}: could not install ${missing.join(' ')} (needs root and apt)`);
}
