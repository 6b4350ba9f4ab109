// The guest's kernel: the Debian package pinned in kernel-pin.json (package,
// version, sha256 of the .deb) while Debian serves it; otherwise the package
// linux-image-amd64 points at today, announced in one line. A kernel is
// fetched once, unpacked to cache/kernels/<package>_<version>, and only the
// modules the guest needs are kept (decompressed: busybox insmod reads plain
// .ko files only).
//
// Why pin: Debian replaces its kernel package with every security update,
// and vsock's behaviour has changed between such updates; a suite that boots
// whatever is current can break on a day nobody changed anything.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import zlib from 'node:zlib';
import { run } from '../../scripts/apt.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const PIN_FILE = path.join(HERE, 'kernel-pin.json');

export function readPin() {
  const pin = JSON.parse(fs.readFileSync(PIN_FILE, 'utf8'));
  for (const key of ['package', 'version', 'sha256']) {
    if (typeof pin[key] !== 'string' || pin[key] === '') throw new Error(`hvsock VM: ${PIN_FILE} has no ${key}`);
  }
  return pin;
}

const moduleName = (file) => path.basename(file).replace(/\.ko(\.(xz|zst|gz))?$/, '').replace(/-/g, '_');

export function walk(dir, out = []) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

function readModule(file) {
  if (file.endsWith('.gz')) return zlib.gunzipSync(fs.readFileSync(file));
  const tool = file.endsWith('.xz') ? 'xz' : file.endsWith('.zst') ? 'zstd' : null;
  if (!tool) return fs.readFileSync(file);
  const r = spawnSync(tool, ['-dc', file], { maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`hvsock VM: cannot decompress ${file} with ${tool}`);
  return r.stdout;
}

const sha256 = (file) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const kernelsDir = (cache) => path.join(cache, 'kernels');
const infoOf = (dir) => {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'info.json'), 'utf8'));
  } catch {
    return null;
  }
};

/** `apt-get download <spec>` into a fresh folder; the .deb's path, or null when apt cannot get it. */
function download(spec, work, log, update) {
  const once = () => run('apt-get', ['download', '-q', '-o', 'APT::Sandbox::User=root', spec], { cwd: work, log }).status === 0;
  if (!once() && !(update() && once())) return null;
  const deb = fs.readdirSync(work).find((f) => f.endsWith('.deb'));
  return deb ? path.join(work, deb) : null;
}

/** Unpacks the kernel and the wanted modules of `deb` into cache/kernels/<package>_<version>. */
function unpack(deb, cache, modules, log) {
  const field = (name) => run('dpkg-deb', ['-f', deb, name], { capture: true }).stdout.trim();
  const pkg = field('Package');
  const version = field('Version');
  const dest = path.join(kernelsDir(cache), `${pkg}_${version.replace(/:/g, '%3a')}`);
  if (infoOf(dest)) return dest;
  const root = path.join(path.dirname(deb), 'root');
  if (run('dpkg-deb', ['-x', deb, root], { log }).status !== 0) throw new Error(`hvsock VM: dpkg-deb -x ${deb} failed`);
  const vmlinuz = fs.readdirSync(path.join(root, 'boot')).find((f) => f.startsWith('vmlinuz-'));
  if (!vmlinuz) throw new Error(`hvsock VM: ${pkg} has no /boot/vmlinuz-*`);
  const release = vmlinuz.slice('vmlinuz-'.length);
  const modRoot = ['lib', 'usr/lib'].map((d) => path.join(root, d, 'modules', release)).find((d) => fs.existsSync(d));
  if (!modRoot) throw new Error(`hvsock VM: ${pkg} has no modules directory for ${release}`);

  const builtinFile = path.join(modRoot, 'modules.builtin');
  const builtins = new Set(
    fs.existsSync(builtinFile) ? fs.readFileSync(builtinFile, 'utf8').split('\n').filter(Boolean).map(moduleName) : [],
  );
  const files = new Map(walk(modRoot).filter((f) => /\.ko(\.(xz|zst|gz))?$/.test(f)).map((f) => [moduleName(f), f]));

  const staged = `${dest}.tmp-${process.pid}`;
  fs.mkdirSync(path.join(staged, 'modules'), { recursive: true });
  fs.copyFileSync(path.join(root, 'boot', vmlinuz), path.join(staged, 'vmlinuz'));
  const info = { package: pkg, version, sha256: sha256(deb), release, modules: [], builtin: [], absent: [] };
  for (const name of modules) {
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
    if (!infoOf(dest)) throw e;
  }
  return dest;
}

/** The versioned package the linux-image-amd64 metapackage points at today. */
function currentPackage(update) {
  for (;;) {
    const r = run('apt-cache', ['depends', 'linux-image-amd64'], { capture: true });
    const m = r.status === 0 && /Depends:\s*(linux-image-\S+)/.exec(r.stdout);
    if (m) return m[1];
    if (!update()) return null;
  }
}

function withWorkDir(cache, fn) {
  const work = fs.mkdtempSync(path.join(cache, 'tmp-'));
  try {
    return fn(work);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** A kernel fetched earlier that has every wanted module, newest first: for a machine that cannot reach apt. */
function newestCached(cache) {
  if (!fs.existsSync(kernelsDir(cache))) return null;
  return fs.readdirSync(kernelsDir(cache))
    .map((d) => path.join(kernelsDir(cache), d))
    .filter((d) => infoOf(d))
    .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)[0] ?? null;
}

/**
 * The folder of the kernel to boot: { dir, info, pinned }. `modules` names
 * the modules to keep; a change of that list refetches nothing that is
 * cached only when the cached copy already has them all.
 */
export function guestKernel({ cache, modules, log, update }) {
  fs.mkdirSync(kernelsDir(cache), { recursive: true });
  const pin = readPin();
  const has = (dir) => {
    const info = infoOf(dir);
    return info && modules.every((m) => [...info.modules, ...info.builtin, ...info.absent].includes(m)) ? info : null;
  };
  const pinnedDir = path.join(kernelsDir(cache), `${pin.package}_${pin.version.replace(/:/g, '%3a')}`);
  const cached = has(pinnedDir);
  if (cached && cached.sha256 === pin.sha256) return { dir: pinnedDir, info: cached, pinned: true };
  if (cached) fs.rmSync(pinnedDir, { recursive: true, force: true });

  const pinned = withWorkDir(cache, (work) => {
    log(`fetching the pinned kernel ${pin.package} ${pin.version}`);
    const deb = download(`${pin.package}=${pin.version}`, work, log, update);
    if (!deb) return null;
    const got = sha256(deb);
    if (got !== pin.sha256) {
      throw new Error(`hvsock VM: ${path.basename(deb)} has sha256 ${got}, but ${path.basename(PIN_FILE)} records ${pin.sha256}`);
    }
    return unpack(deb, cache, modules, log);
  });
  if (pinned) return { dir: pinned, info: infoOf(pinned), pinned: true };

  // Debian no longer serves the pin: today's kernel, fetched once.
  const pkg = currentPackage(update);
  let dir = null;
  if (pkg) {
    dir = fs.readdirSync(kernelsDir(cache))
      .map((d) => path.join(kernelsDir(cache), d))
      .find((d) => path.basename(d).startsWith(`${pkg}_`) && has(d));
    dir ??= withWorkDir(cache, (work) => {
      const deb = download(pkg, work, log, update);
      if (!deb) throw new Error(`hvsock VM: apt-get download ${pkg} failed`);
      return unpack(deb, cache, modules, log);
    });
  } else {
    dir = newestCached(cache);
    if (!dir || !has(dir)) throw new Error(`hvsock VM: Debian serves neither the pinned ${pin.package} ${pin.version} nor a linux-image-amd64 kernel`);
  }
  const info = infoOf(dir);
  log(`the pinned kernel ${pin.package} ${pin.version} is not served by Debian any more; booting ${info.package} ${info.version} (sha256 ${info.sha256}) instead — re-pin it in test/vm/kernel-pin.json`);
  return { dir, info, pinned: false };
}
