// Compiles src/ once, to CommonJS in dist/cjs, and gives ESM importers a thin
// re-export of it: one implementation, so `instanceof Socket` holds no matter
// how a program loads the package.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

rmSync(join(root, 'dist'), { recursive: true, force: true });
try {
  execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });
} catch {
  process.exit(1); // tsc has printed the diagnostics
}

const esm = join(root, 'dist', 'esm');
mkdirSync(esm, { recursive: true });
writeFileSync(
  join(esm, 'index.mjs'),
  "export * from '../cjs/index.js';\nimport hvsock from '../cjs/index.js';\nexport default hvsock;\n",
);
writeFileSync(
  join(esm, 'index.d.mts'),
  "export * from '../cjs/index.js';\nimport * as hvsock from '../cjs/index.js';\nexport default hvsock;\n",
);
