// A guest without vsock loopback, as most guests are: vsock_loopback is
// unloaded for this file's duration (and loaded again after it). There a
// connect to CID 1 must fail before any connect(2) — where the kernel has a
// guest transport, that connect would go to the hypervisor host — with
// EADDRNOTAVAIL saying how to get loopback. Proven with strace on a fresh
// process (the loopback probe is made once per process), for every spelling
// of CID 1; then the demo fails fast with that message and doctor says there
// is no loopback. (In this guest, with no transport left at all, the old
// connect failed with ENODEV at once; on a real guest it went to the host and
// timed out.)
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insmod, loaded, rmmod } from './modules.js';

const ROOT = join(__dirname, '..', '..');
const DIST = join(ROOT, 'dist', 'cjs', 'index.js');
const CLI = join(ROOT, 'dist', 'cjs', 'cli', 'main.js');

/** Does binding CID 1 work? Asked in a new process each time: never cached. */
function loopbackBinds(): boolean {
  const script = `
    const { loadBinding } = require(${JSON.stringify(join(ROOT, 'dist', 'cjs', 'transport', 'native.js'))});
    const { probeVsockLoopback } = require(${JSON.stringify(join(ROOT, 'dist', 'cjs', 'transport', 'vsock-loopback.js'))});
    process.stdout.write(JSON.stringify(probeVsockLoopback(loadBinding())));`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  return JSON.parse(r.stdout).available === true;
}

beforeAll(async () => {
  expect(loopbackBinds()).toBe(true);
  await rmmod('vsock_loopback');
  expect(loaded('vsock_loopback')).toBe(false);
  expect(loopbackBinds()).toBe(false);
});

afterAll(() => {
  if (!loaded('vsock_loopback')) insmod('vsock_loopback');
  // Every later file gets the guest as it booted.
  expect(loopbackBinds()).toBe(true);
});

/** Connects to CID 1 in every spelling, each logged as one JSON line: the error and the time it took. */
const CLIENT = `
const { connect, HV_GUID_LOOPBACK, serviceIdFromPort } = require(${JSON.stringify(DIST)});
// The addon loads on first use; under strace on an emulated CPU that alone
// takes seconds, which is not the connect's time: load it first.
require(${JSON.stringify(join(ROOT, 'dist', 'cjs', 'transport', 'native.js'))}).loadBinding();
const spellings = [
  ['loopback:5000', () => connect('loopback:5000')],
  ['1:5000', () => connect('1:5000')],
  ['{ cid: 1 }', () => connect({ cid: 1, port: 5000 })],
  ['connect(5000)', () => connect(5000)],
  ['{ vmId: HV_GUID_LOOPBACK }', () => connect({ vmId: HV_GUID_LOOPBACK, serviceId: serviceIdFromPort(5000) })],
  ['redial', () => connect({ cid: 1, port: 5000, redial: { timeout: 30000 } })],
];
(async () => {
  for (const [name, open] of spellings) {
    const started = performance.now();
    const socket = open();
    let redials = 0;
    socket.on('redial', () => redials++);
    const error = await new Promise((resolve) => socket.on('error', resolve).on('connect', () => resolve(null)));
    const ms = performance.now() - started;
    console.log(JSON.stringify({ name, ms, redials, error: error && { code: error.code, errno: error.errno, syscall: error.syscall, address: error.address, cid: error.cid, port: error.port, attempts: error.attempts, message: error.message } }));
  }
})();
`;

describe('a guest without vsock loopback', () => {
  it('connect to CID 1, every spelling: EADDRNOTAVAIL at once, and strace sees no AF_VSOCK connect(2)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hvsock-noloop-'));
    try {
      const trace = join(dir, 'strace.log');
      const r = spawnSync('strace', ['-f', '-qq', '-e', 'trace=socket,bind,connect', '-o', trace, process.execPath, '-e', CLIENT], {
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const calls = readFileSync(trace, 'utf8').split('\n');
      const vsock = calls.filter((line) => line.includes('AF_VSOCK'));
      console.log(`strace, AF_VSOCK calls:\n${vsock.join('\n')}`);
      // The probe: one vsock socket, bound to CID 1, refused; once for the whole process.
      expect(vsock.filter((line) => /\bsocket\(AF_VSOCK/.test(line))).toHaveLength(1);
      const binds = vsock.filter((line) => /\bbind\(/.test(line));
      expect(binds).toHaveLength(1);
      expect(binds[0]).toMatch(/svm_cid=(1|VMADDR_CID_LOCAL)\b.*= -1 EADDRNOTAVAIL/);
      expect(vsock.filter((line) => /\bconnect\(/.test(line))).toEqual([]);
      const results = r.stdout.trim().split('\n').map((line) => JSON.parse(line));
      expect(results.map((x) => x.name)).toEqual(['loopback:5000', '1:5000', '{ cid: 1 }', 'connect(5000)', '{ vmId: HV_GUID_LOOPBACK }', 'redial']);
      for (const { name, error, ms, redials } of results) {
        expect({ name, ...error }).toMatchObject({
          name,
          code: 'EADDRNOTAVAIL',
          syscall: 'connect',
          address: 'loopback',
          cid: 1,
          port: 5000,
        });
        expect(error.errno).toBeLessThan(0);
        expect(error.message).toMatch(/^connect EADDRNOTAVAIL loopback:5000: this kernel has no vsock loopback \(binding CID 1 fails with EADDRNOTAVAIL/);
        expect(error.message).toContain('modprobe vsock_loopback (Linux 5.6 or later)');
        expect(redials).toBe(0);
        expect(ms).toBeLessThan(2000);
        console.log(`${name}: ${error.code} after ${ms.toFixed(1)} ms`);
      }
      expect(results.at(-1).error.attempts).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('npm run demo (examples/echo-demo.mjs) fails fast, saying why once', async () => {
    const started = performance.now();
    const demo = spawn(process.execPath, [join(ROOT, 'examples', 'echo-demo.mjs')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    demo.stdout.on('data', (chunk) => (out += String(chunk)));
    demo.stderr.on('data', (chunk) => (err += String(chunk)));
    const [code] = await once(demo, 'close');
    const ms = performance.now() - started;
    console.log(`demo failed after ${ms.toFixed(0)} ms:\n${out}${err}`);
    expect(code).toBe(1);
    const errLines = err.trim().split('\n');
    expect(errLines).toHaveLength(1);
    expect(errLines[0]).toMatch(/^echo-client: connect EADDRNOTAVAIL loopback:\d+: this kernel has no vsock loopback .*modprobe vsock_loopback/);
    expect(out.trim().split('\n').at(-1)).toBe('demo: FAILED');
    expect(out).not.toMatch(/\[client\] connected/);
    expect(ms).toBeLessThan(30_000);
  });

  it('hvsock doctor says there is no loopback, and where CID 2 would go', () => {
    const r = spawnSync(process.execPath, [CLI, 'doctor'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^loopback: {2}none \(binding CID 1 fails with EADDRNOTAVAIL\): connects to CID 1 fail at once; modprobe vsock_loopback/m);
    expect(r.stdout).toMatch(/^parent: {4}CID 2 leads nowhere: no guest transport is loaded$/m);
    expect(r.stdout).not.toMatch(/Peers reach this machine at CID 1/);
    const json = JSON.parse(spawnSync(process.execPath, [CLI, 'doctor', '--json'], { encoding: 'utf8' }).stdout);
    expect(json).toMatchObject({ loopback: false, loopbackBind: 'EADDRNOTAVAIL', parent: 'none' });
  });
});
