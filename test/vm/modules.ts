// Loading and unloading kernel modules in the guest, for the tests that need
// a transport the guest did not boot with (silent-peer.ts: vhost_vsock) or
// without one it did (no-loopback.test.ts: vsock_loopback). init.sh stages
// their .ko files in /run/hvsock/modules: the root is read-only and the
// initramfs is out of sight after chroot.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

export const MODULE_DIR = '/run/hvsock/modules';

function busybox(...args: string[]): { ok: boolean; said: string } {
  const r = spawnSync('/bin/busybox', args, { encoding: 'utf8' });
  return { ok: r.status === 0, said: (r.stderr || r.error?.message || '').trim() };
}

export const loaded = (m: string): boolean => existsSync(`/sys/module/${m}`);

export function insmod(m: string): void {
  const r = busybox('insmod', path.join(MODULE_DIR, `${m}.ko`));
  if (!r.ok) throw new Error(`insmod ${m} failed: ${r.said}`);
}

/**
 * Every vsock socket that used a transport pins its module until the kernel
 * has freed it, which for a closed socket can be a moment later: retry for a
 * while before calling the module stuck.
 */
export async function rmmod(m: string): Promise<void> {
  const deadline = Date.now() + 40_000;
  for (;;) {
    const r = busybox('rmmod', m);
    if (r.ok || !loaded(m)) return;
    if (Date.now() > deadline) throw new Error(`rmmod ${m} failed for 40 s: ${r.said}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
