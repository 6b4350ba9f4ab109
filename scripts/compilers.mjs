// The TypeScript compilers the package is checked with: 5.x (`typescript`,
// which also builds it and whose compiler API the tests use) and 7.x
// (`typescript-7`, an alias of typescript@7, the native compiler that
// `npm i -D typescript` installs today). Both install a `tsc` command, so
// node_modules/.bin/tsc is whichever npm linked last: callers run each by
// its package's own bin entry instead.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/** [{ name, version, tsc }] for each installed compiler; `tsc` is the script to run with node. */
export function typescriptCompilers() {
  return ['typescript', 'typescript-7'].map((name) => {
    const manifest = require.resolve(`${name}/package.json`);
    const { version, bin } = require(manifest);
    return { name, version, tsc: join(dirname(manifest), typeof bin === 'string' ? bin : bin.tsc) };
  });
}
