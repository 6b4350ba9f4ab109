import { defineConfig } from 'vitest/config';

// The vsock suite runs inside the QEMU guest (test/vm/run.mjs), whose root is
// this machine's, read-only: caches go to the guest's tmpfs.
export default defineConfig({
  cacheDir: '/tmp/hvsock-vitest-cache',
  test: {
    include: ['test/vm/**/*.test.ts'],
    globalSetup: ['test/vm/require-loopback.ts'],
    setupFiles: ['test/vm/setup.ts'],
    // Emulated CPU: generous limits, and one file at a time on two cores.
    testTimeout: 90_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    pool: 'forks',
    // One worker process for all the files, one after another, rather than a
    // fresh one per file: starting a worker (node, then vitest's runtime) is
    // seconds on the emulated CPU, fifteen times over. The files share no
    // state that needs it: each one's servers and child processes are closed
    // after every test (setup.ts, faults.test.ts), the ones that change the
    // guest (modules, the host transport) put it back in afterAll, and every
    // descriptor and memory figure a test judges is taken within that test
    // (or in a fixture process of its own). vitest still runs every file's
    // setup files afresh; the modules the files import (helpers, src/) load
    // once, as the addon itself always did per process.
    isolate: false,
  },
});
