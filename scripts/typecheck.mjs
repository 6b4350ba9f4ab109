// Typechecks the sources and the tests with every TypeScript line the
// package supports (scripts/compilers.mjs): 5.x and 7.x.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { typescriptCompilers } from './compilers.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

for (const { version, tsc } of typescriptCompilers()) {
  for (const project of ['tsconfig.json', join('test', 'tsconfig.json')]) {
    console.log(`TypeScript ${version}: ${project}`);
    try {
      execFileSync(process.execPath, [tsc, '-p', join(root, project), '--noEmit'], { stdio: 'inherit' });
    } catch {
      process.exit(1); // tsc has printed the diagnostics
    }
  }
}
