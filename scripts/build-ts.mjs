// Compiles src/ once, to CommonJS in dist/cjs, and gives ESM importers a thin
// re-export of it: one implementation, so `instanceof Socket` holds no matter
// how a program loads the package.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

// One thin ESM re-export per entry point: index (the socket API), host, forward and http.
for (const entry of ['index', 'host/index', 'forward/index', 'http/index']) {
  const file = join(root, 'dist', 'esm', `${entry}.mjs`);
  const cjs = `${'../'.repeat(entry.split('/').length)}cjs/${entry}.js`;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `export * from '${cjs}';\nimport hvsock from '${cjs}';\nexport default hvsock;\n`);
  writeFileSync(
    file.replace(/\.mjs$/, '.d.mts'),
    `export * from '${cjs}';\nimport * as hvsock from '${cjs}';\nexport default hvsock;\n`,
  );
}

// Every declaration file names Node's types itself. They use Buffer, Duplex,
// EventEmitter and AbortSignal, and a consumer's compiler does not load
// @types/node on its own: TypeScript 7 defaults `types` to [], and since 5.5
// tsc no longer writes this reference into declarations it emits.
const NODE_TYPES = '/// <reference types="node" />\n';
for (const entry of readdirSync(join(root, 'dist'), { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !/\.d\.m?ts$/.test(entry.name)) continue;
  const file = join(entry.parentPath ?? entry.path, entry.name);
  writeFileSync(file, NODE_TYPES + readFileSync(file, 'utf8'));
}
