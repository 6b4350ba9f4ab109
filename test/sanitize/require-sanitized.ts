// A setup file of test/sanitize/vitest.config.ts: before each of the vsock
// suite's files, its worker proves it runs the sanitized addon with the ASan
// runtime loaded. Were the variables lost on their way to the workers, the
// files would pass against the regular build, and check nothing.
import { readFileSync } from 'node:fs';
import { loadBinding } from '../../src/transport/native.js';

const addon = process.env.HVSOCK_ADDON_PATH;
loadBinding();
const maps = readFileSync('/proc/self/maps', 'utf8');
if (addon === undefined || !maps.includes(addon)) {
  throw new Error(`this vitest worker did not load the sanitized addon (HVSOCK_ADDON_PATH=${addon ?? 'unset'})`);
}
if (!/\/libasan\.so/.test(maps)) throw new Error('this vitest worker runs without the ASan runtime (LD_PRELOAD)');
