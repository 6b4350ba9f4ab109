// Everything the test guest boots from: the Debian packages on this machine,
// a kernel + modules from Debian's linux-image package (kernel.mjs picks
// which), and an initramfs with busybox and init.sh. All of it lives in a
// cache shared by every checkout, so only the first run on a machine pays.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import zlib from 'node:zlib';
import { guestKernel, walk } from './kernel.mjs';
import { ensurePackages, makeUpdater, run } from '../../scripts/apt.mjs';
import { cacheDir } from '../../scripts/cache-dir.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
// The guest runs this machine's programs (its root is ours, read-only), so
// what the vsock tests and the benchmark use as real peers is installed here:
// OpenSSH's server and client and curl (test/vm/forward.test.ts), socat
// (the forwarder benchmark, bench/forward.mjs).
const PACKAGES = ['qemu-system-x86', 'busybox-static', 'cpio', 'openssh-server', 'openssh-client', 'socat', 'curl'];
const BUSYBOX = '/bin/busybox';
// Parents before children: cpio creates them in list order.
const INITRD_DIRS = ['bin', 'dev', 'proc', 'sys', 'newroot', 'io', 'scratch', 'etc', 'etc/hvsock', 'lib', 'lib/modules'];

// insmod order (busybox insmod does not resolve dependencies). virtio_console
// gives the command an output channel free of kernel messages; overlay lets
// /tmp show the host's /tmp. Either may be missing: init.sh copes.
const MODULES = [
  'virtio_ring', 'virtio_pci_modern_dev', 'virtio_pci_legacy_dev', 'virtio', 'virtio_pci',
  'virtio_console', '9pnet', '9pnet_virtio', 'netfs', 'fscache', '9p',
  'vsock', 'vmw_vsock_virtio_transport_common', 'vsock_loopback', 'overlay',
];

// Not loaded at boot; init.sh leaves them in /run/hvsock/modules for a test
// to insmod and rmmod (test/vm/silent-peer.ts). vhost_vsock is the host side
// of vsock: with it loaded the guest's local-CID ioctl answers 2, so no other
// test may see it.
const ON_DEMAND_MODULES = ['vhost_iotlb', 'vhost', 'vhost_vsock'];

// Loaded at boot, and also left in /run/hvsock/modules so that a test can
// rmmod it and load it again (test/vm/no-loopback.test.ts: a guest without
// vsock loopback, as most guests are).
const RELOADABLE_BOOT_MODULES = ['vsock_loopback'];


/** cache/initrd-<hash>.gz; the hash covers everything that goes into it. */
function buildInitrd(kernelDir, info, boot, onDemand, cache, log) {
  const init = fs.readFileSync(path.join(HERE, 'init.sh'));
  const bb = fs.statSync(BUSYBOX);
  const hash = createHash('sha256')
    .update(init)
    .update(fs.readFileSync(fileURLToPath(import.meta.url)))
    .update(`${kernelDir}\n${info.sha256}\n${boot.join(',')}\n${onDemand.join(',')}\n${bb.size}:${bb.mtimeMs}`)
    .digest('hex')
    .slice(0, 16);
  const initrd = path.join(cache, `initrd-${hash}.gz`);
  if (fs.existsSync(initrd)) return initrd;

  log('building the initramfs');
  const stage = fs.mkdtempSync(path.join(cache, 'tmp-'));
  try {
    for (const d of INITRD_DIRS) fs.mkdirSync(path.join(stage, d), { recursive: true });
    fs.copyFileSync(BUSYBOX, path.join(stage, 'bin/busybox'));
    fs.chmodSync(path.join(stage, 'bin/busybox'), 0o755);
    fs.writeFileSync(path.join(stage, 'init'), init, { mode: 0o755 });
    fs.chmodSync(path.join(stage, 'init'), 0o755);
    for (const m of [...boot, ...onDemand]) {
      fs.copyFileSync(path.join(kernelDir, 'modules', `${m}.ko`), path.join(stage, 'lib/modules', `${m}.ko`));
    }
    fs.writeFileSync(path.join(stage, 'etc/hvsock/modules'), boot.join('\n') + '\n');
    // The modules init.sh stages in /run/hvsock/modules for tests to insmod.
    const staged = [...onDemand, ...boot.filter((m) => RELOADABLE_BOOT_MODULES.includes(m))];
    fs.writeFileSync(path.join(stage, 'etc/hvsock/modules-on-demand'), staged.map((m) => `${m}\n`).join(''));

    const list = walk(stage).map((f) => path.relative(stage, f));
    const cpio = spawnSync('cpio', ['-o', '-H', 'newc', '-R', '0:0', '--quiet'], {
      cwd: stage,
      input: [...INITRD_DIRS, ...list].join('\n') + '\n',
      maxBuffer: 512 << 20,
    });
    if (cpio.status !== 0) throw new Error(`hvsock VM: cpio failed: ${cpio.stderr}`);
    const tmp = `${initrd}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, zlib.gzipSync(cpio.stdout));
    fs.renameSync(tmp, initrd);
    return initrd;
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}

/**
 * Makes sure everything the guest needs is in place; returns what run.mjs
 * boots: { kernel, initrd, kernelVersion, modules, builtin, absent }.
 */
export function provision({ log = () => {} } = {}) {
  const cache = cacheDir('vm');
  const update = makeUpdater(log);
  ensurePackages(PACKAGES, log, update, 'hvsock VM');
  const kernel = guestKernel({ cache, modules: [...MODULES, ...ON_DEMAND_MODULES], log, update });
  const { dir: kernelDir, info } = kernel;
  const boot = info.modules.filter((m) => MODULES.includes(m));
  const onDemand = info.modules.filter((m) => ON_DEMAND_MODULES.includes(m));
  const initrd = buildInitrd(kernelDir, info, boot, onDemand, cache, log);
  return {
    kernel: path.join(kernelDir, 'vmlinuz'),
    initrd,
    kernelVersion: info.release,
    kernelPackage: `${info.package} ${info.version}`,
    pinned: kernel.pinned,
    modules: boot,
    onDemand,
    builtin: info.builtin,
    absent: info.absent,
  };
}
