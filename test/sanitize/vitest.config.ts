// The vsock suite's config (test/vm/vitest.config.ts) for npm run
// test:sanitize, run as `guard.mjs --vitest-workers -- node node_modules/vitest/vitest.mjs run --config
// test/sanitize/vitest.config.ts`: the guard passes the sanitizer variables
// and the sanitized addon's path in HVSOCK_SANITIZE_WORKER_ENV, and this sets
// them on vitest's workers, which run the tests and load the addon; every
// process a test starts inherits them from there. Why not the main process
// too: see workerEnv in test/sanitize/guard.mjs.
import { defineConfig, mergeConfig } from 'vitest/config';
import vsockSuite from '../vm/vitest.config.js';

const workerEnv = process.env.HVSOCK_SANITIZE_WORKER_ENV;
if (workerEnv === undefined) {
  throw new Error('test/sanitize/vitest.config.ts runs under test/sanitize/guard.mjs --vitest-workers (npm run test:sanitize)');
}

export default mergeConfig(
  vsockSuite,
  defineConfig({
    test: {
      env: JSON.parse(workerEnv) as Record<string, string>,
      // Added to the suite's own: each file first checks that it is sanitized.
      setupFiles: ['test/sanitize/require-sanitized.ts'],
    },
  }),
);
