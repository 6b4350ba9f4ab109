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
  },
});
