// Everything the test guest boots from: the Debian packages on this machine,
// a kernel + modules taken from Debian's linux-image package, and an
// initramfs with busybox and init.sh. All of it lives in a cache shared by
// every checkout, so only the first run on a machine pays for it.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import zlib from 'node:zlib';
import { ensurePackages, makeUpdater, run } from '../../scripts/apt.mjs';
import { cacheDir } from '../../scripts/cache-dir.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PACKAGES = ['qemu-system-x86', 'busybox-static', 'cpio'];
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


/** The versioned package the linux-image-amd64 metapackage points at. */
function kernelPackage(update) {
  for (;;) {
    const r = run('apt-cache', ['depends', 'linux-image-amd64'], { capture: true });
    const m = r.status === 0 && /Depends:\s*(linux-image-\S+)/.exec(r.stdout);
    if (m) return m[1];
    if (!update()) return null;
  }
}

/** Asking apt costs most of a warm run's provisioning; an answer under a day old will do. */
function rememberedKernelPackage(memo, cache) {
  try {
    if (Date.now() - fs.statSync(memo).mtimeMs > 86_400_000) return null;
    const pkg = fs.readFileSync(memo, 'utf8').trim();
    return fs.existsSync(path.join(cache, 'kernels', pkg, 'info.json')) ? pkg : null;
  } catch {
    return null;
  }
}

function walk(dir, out = []) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

const moduleName = (file) => path.basename(file).replace(/\.ko(\.(xz|zst|gz))?$/, '').replace(/-/g, '_');

function readModule(file) {
  if (file.endsWith('.gz')) return zlib.gunzipSync(fs.readFileSync(file));
  const tool = file.endsWith('.xz') ? 'xz' : file.endsWith('.zst') ? 'zstd' : null;
  if (!tool) return fs.readFileSync(file);
  // busybox insmod cannot read compressed modules; the guest gets them plain.
  const r = spawnSync(tool, ['-dc', file], { maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`hvsock VM: cannot decompress ${file} with ${tool}`);
  return r.stdout;
}

/** Downloads and unpacks the kernel package into cache/kernels/<package>. */
function fetchKernel(pkg, cache, log, update) {
  const dest = path.join(cache, 'kernels', pkg);
  if (fs.existsSync(path.join(dest, 'info.json'))) return dest;
  log(`fetching kernel package ${pkg}`);
  fs.mkdirSync(path.join(cache, 'kernels'), { recursive: true });
  const work = fs.mkdtempSync(path.join(cache, 'tmp-'));
  try {
    const download = () =>
      run('apt-get', ['download', '-q', '-o', 'APT::Sandbox::User=root', pkg], { cwd: work, log }).status === 0;
    if (!download() && !(update() && download())) throw new Error(`hvsock VM: apt-get download ${pkg} failed`);
    const deb = fs.readdirSync(work).find((f) => f.endsWith('.deb'));
    const root = path.join(work, 'root');
    if (run('dpkg-deb', ['-x', path.join(work, deb), root], { log }).status !== 0) {
      throw new Error(`hvsock VM: dpkg-deb -x ${deb} failed`);
    }
    const vmlinuz = fs.readdirSync(path.join(root, 'boot')).find((f) => f.startsWith('vmlinuz-'));
    if (!vmlinuz) throw new Error(`hvsock VM: ${pkg} has no /boot/vmlinuz-*`);
    const version = vmlinuz.slice('vmlinuz-'.length);
    const modRoot = ['lib', 'usr/lib']
      .map((d) => path.join(root, d, 'modules', version))
      .find((d) => fs.existsSync(d));
    if (!modRoot) throw new Error(`hvsock VM: ${pkg} has no modules directory for ${version}`);

    const builtinFile = path.join(modRoot, 'modules.builtin');
    const builtins = new Set(
      fs.existsSync(builtinFile) ? fs.readFileSync(builtinFile, 'utf8').split('\n').filter(Boolean).map(moduleName) : [],
    );
    const files = new Map(walk(modRoot).filter((f) => /\.ko(\.(xz|zst|gz))?$/.test(f)).map((f) => [moduleName(f), f]));

    const staged = `${dest}.tmp-${process.pid}`;
    fs.mkdirSync(path.join(staged, 'modules'), { recursive: true });
    fs.copyFileSync(path.join(root, 'boot', vmlinuz), path.join(staged, 'vmlinuz'));
    const info = { package: pkg, deb, version, modules: [], builtin: [], absent: [] };
    for (const name of MODULES) {
      if (files.has(name)) {
        fs.writeFileSync(path.join(staged, 'modules', `${name}.ko`), readModule(files.get(name)));
        info.modules.push(name);
      } else if (builtins.has(name)) info.builtin.push(name);
      else info.absent.push(name);
    }
    fs.writeFileSync(path.join(staged, 'info.json'), JSON.stringify(info, null, 2) + '\n');
    try {
      fs.renameSync(staged, dest);
    } catch (e) {
      // Another run got there first; its copy is as good as ours.
      fs.rmSync(staged, { recursive: true, force: true });
      if (!fs.existsSync(path.join(dest, 'info.json'))) throw e;
    }
    return dest;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function newestCachedKernel(cache) {
  const dir = path.join(cache, 'kernels');
  if (!fs.existsSync(dir)) return null;
  const ready = fs.readdirSync(dir)
    .map((d) => path.join(dir, d))
    .filter((d) => fs.existsSync(path.join(d, 'info.json')))
    .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
  return ready[0] ?? null;
}

/** cache/initrd-<hash>.gz; the hash covers everything that goes into it. */
function buildInitrd(kernelDir, info, cache, log) {
  const init = fs.readFileSync(path.join(HERE, 'init.sh'));
  const bb = fs.statSync(BUSYBOX);
  const hash = createHash('sha256')
    .update(init)
    .update(fs.readFileSync(fileURLToPath(import.meta.url)))
    .update(`${kernelDir}\n${info.deb}\n${info.modules.join(',')}\n${bb.size}:${bb.mtimeMs}`)
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
    for (const m of info.modules) {
      fs.copyFileSync(path.join(kernelDir, 'modules', `${m}.ko`), path.join(stage, 'lib/modules', `${m}.ko`));
    }
    fs.writeFileSync(path.join(stage, 'etc/hvsock/modules'), info.modules.join('\n') + '\n');

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

  const memo = path.join(cache, 'kernel-package');
  let pkg = rememberedKernelPackage(memo, cache);
  let kernelDir;
  if (pkg) kernelDir = path.join(cache, 'kernels', pkg);
  else if ((pkg = kernelPackage(update))) {
    kernelDir = fetchKernel(pkg, cache, log, update);
    fs.writeFileSync(`${memo}.tmp-${process.pid}`, `${pkg}\n`);
    fs.renameSync(`${memo}.tmp-${process.pid}`, memo);
  } else {
    // No apt metadata (offline): any kernel fetched earlier will do.
    kernelDir = newestCachedKernel(cache);
    if (!kernelDir) throw new Error('hvsock VM: cannot resolve the package behind linux-image-amd64');
  }
  const info = JSON.parse(fs.readFileSync(path.join(kernelDir, 'info.json'), 'utf8'));
  const initrd = buildInitrd(kernelDir, info, cache, log);
  return {
    kernel: path.join(kernelDir, 'vmlinuz'),
    initrd,
    kernelVersion: info.version,
    modules: info.modules,
    builtin: info.builtin,
    absent: info.absent,
  };
}
