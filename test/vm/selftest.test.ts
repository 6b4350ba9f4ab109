// `hvsock selftest` as a user runs it, inside the guest (CID 1 over
// vsock_loopback): every check passes, the JSON has the shape a bug report
// needs, the plain output is the table. The command must also end on its
// own: a socket or timer it left open would keep the child alive until this
// test's timeout. Needs `npm run build:ts` (dist/).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'cjs', 'cli', 'main.js');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
/** The checks, in the order they run and are reported. */
const CHECKS = [
  'echo round trip',
  '16 MiB each way, SHA-256',
  'half-close, client ends first',
  'half-close, server ends first',
  'refused connect',
  'connectTimeout option',
  'bufferSize option',
  'accepted socket addresses',
  '100 concurrent connections',
];
/** Emulated CPU: the whole run takes tens of seconds there. */
const RUN_TIMEOUT_MS = 300_000;

async function selftest(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, 'selftest', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += String(chunk)));
  child.stderr.on('data', (chunk) => (stderr += String(chunk)));
  const [code] = (await once(child, 'exit')) as [number | null];
  // Shown in the test log: the lead quotes these outputs.
  process.stdout.write(`--- hvsock selftest ${args.join(' ')} (exit ${code}) ---\n${stdout}${stderr}`);
  return { code, stdout, stderr };
}

interface Check {
  name: string;
  ok: boolean;
  figure: string;
  error?: string;
  ms: number;
  details?: Record<string, any>;
}

/**
 * Both runs start together when the file starts and each test judges its
 * own: two independent processes (kernel-chosen ports, nothing shared), so
 * the second need not wait tens of seconds for the first to finish.
 */
const runs = new Map<string, ReturnType<typeof selftest>>();
function started(...args: string[]): ReturnType<typeof selftest> {
  const key = args.join(' ');
  let run = runs.get(key);
  if (run === undefined) {
    run = selftest(...args);
    run.catch(() => {}); // awaited (and reported) by its test
    runs.set(key, run);
  }
  return run;
}

describe('hvsock selftest in the guest', () => {
  beforeAll(() => {
    started('--json');
    started();
  });

  it('--json: exit 0, every check ok with a figure, and the environment a bug report needs', { timeout: RUN_TIMEOUT_MS }, async () => {
    const { code, stdout, stderr } = await started('--json');
    expect(stderr).toBe(''); // no progress lines: stderr is not a terminal
    const report = JSON.parse(stdout);
    expect(code, stdout).toBe(0);
    expect(report).toMatchObject({
      hvsock: VERSION,
      node: process.version,
      platform: 'linux',
      arch: process.arch,
      os: { type: 'Linux', release: release(), version: expect.any(String) },
      verdict: 'pass',
      family: 'AF_VSOCK',
      loopback: 'CID 1 (vsock_loopback)',
    });
    expect(report.unavailable).toBeUndefined();
    const checks = report.checks as Check[];
    expect(checks.map((c) => c.name)).toEqual(CHECKS);
    for (const c of checks) {
      expect(c, c.name).toMatchObject({ ok: true, figure: expect.stringMatching(/\S/), ms: expect.any(Number) });
      expect(c.error, c.name).toBeUndefined();
    }
    const byName = Object.fromEntries(checks.map((c) => [c.name, c]));
    // The figures say what they claim.
    expect(byName['echo round trip']?.details).toMatchObject({ roundTrips: 100, medianMs: expect.any(Number) });
    const transfer = byName['16 MiB each way, SHA-256']?.details as Record<string, any>;
    expect(transfer.bytesEachWay).toBe(16 * 1024 * 1024);
    for (const way of [transfer.clientToServer, transfer.serverToClient]) {
      expect(way.bytes).toBe(16 * 1024 * 1024);
      expect(way.received).toBe(way.sent);
      expect(way.sent).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(transfer.clientToServer.sent).not.toBe(transfer.serverToClient.sent);
    expect(byName['refused connect']?.details).toMatchObject({ code: 'ECONNREFUSED', errno: -111, syscall: 'connect', address: expect.stringMatching(/^loopback:\d+$/) });
    expect(byName['connectTimeout option']?.details).toMatchObject({ setMs: 2500, readBackMs: 2500 });
    expect(byName['bufferSize option']?.details).toEqual({ asked: 1048576, client: 1048576, server: 1048576, echoed: true });
    const addresses = byName['accepted socket addresses']?.details as Record<string, any>;
    for (const side of ['listener', 'clientRemote', 'serverLocal', 'serverRemote']) {
      expect(addresses[side], side).toMatchObject({ family: 'AF_VSOCK', cid: 1, port: expect.any(Number) });
    }
    // The client's own side reads the CID its connect auto-bound it to: ANY
    // on the pinned kernel; CID 1 would be as right.
    expect(addresses.clientLocal).toMatchObject({ family: 'AF_VSOCK', port: expect.any(Number) });
    expect([0xffffffff, 1]).toContain(addresses.clientLocal.cid);
    expect(addresses.serverRemote.port).toBe(addresses.clientLocal.port);
    expect(addresses.clientRemote.port).toBe(addresses.listener.port);
    expect(byName['100 concurrent connections']?.details).toMatchObject({ connections: 100, echoed: 100, openAtOnce: 100 });
  });

  it('plain: the table, one row per check, and the verdict', { timeout: RUN_TIMEOUT_MS }, async () => {
    const { code, stdout } = await started();
    expect(code, stdout).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`hvsock ${VERSION} on Node ${process.version}, linux ${release()} (${process.arch})`);
    expect(lines[1]).toMatch(/^os: /);
    expect(lines[2]).toBe('loopback: AF_VSOCK CID 1 (vsock_loopback)');
    const header = lines.findIndex((line) => /^check +result +figure$/.test(line));
    expect(header).toBeGreaterThan(0);
    const rows = lines.slice(header + 1, header + 1 + CHECKS.length);
    // Columns line up: every row's result starts where the header's does.
    const resultColumn = (lines[header] as string).indexOf('result');
    rows.forEach((row, i) => {
      expect(row.startsWith(CHECKS[i] as string), row).toBe(true);
      expect(row.slice(resultColumn, resultColumn + 4), row).toBe('ok  ');
    });
    expect(lines.at(-1)).toMatch(new RegExp(`^verdict: pass, ${CHECKS.length} of ${CHECKS.length} checks in \\d`));
  });
});
