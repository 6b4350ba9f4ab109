// `hvsock selftest` run as users run it, with this Node, on Windows:
//   - where AF_HYPERV is absent (Wine: HVSOCK_EXPECT_NO_HYPERV=1), it opens
//     nothing, exits 3 and names the missing Hyper-V socket provider, in JSON
//     and in plain text;
//   - over real AF_HYPERV (npm run test:hyperv, the GitHub Windows workflow),
//     every check passes (exit 0). That part has not run on this project's
//     own machines, which have no Hyper-V.
// Off Windows it never runs: there the self-test would use vsock, which only
// the project's VM may (test/vm/selftest.test.ts covers Linux).
'use strict';
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { describe, it } = require('node:test');
const { transport } = require('./helpers.cjs');

const onWindows = process.platform === 'win32';
const expectAbsent = onWindows && process.env.HVSOCK_EXPECT_NO_HYPERV === '1';
const realHyperV = onWindows && transport === 'hyperv';
const offWindows = 'Windows only: off Windows the self-test would open vsock connections (the VM suite runs it on Linux)';
const absentSkip = expectAbsent ? false : onWindows ? 'only where AF_HYPERV is known to be absent (Wine sets HVSOCK_EXPECT_NO_HYPERV=1)' : offWindows;
const realSkip = realHyperV ? false : onWindows ? 'needs real AF_HYPERV: runs in npm run test:hyperv (HVSOCK_ENGINE_TRANSPORT=hyperv)' : offWindows;

const CLI = path.join(path.dirname(require.resolve('hvsock')), 'cli', 'main.js');

function selftest(t, ...args) {
  if (!onWindows) throw new Error(`refusing to run hvsock selftest on ${process.platform}`);
  const r = spawnSync(process.execPath, [CLI, 'selftest', ...args], { encoding: 'utf8', timeout: 600_000 });
  if (r.error) throw r.error;
  // The output goes into the run's log verbatim: it is what a user would paste.
  for (const line of `${r.stdout}${r.stderr}`.trimEnd().split('\n')) t.diagnostic(line);
  return r;
}

const PROVIDER = /^no Hyper-V socket provider: socket\(AF_HYPERV, SOCK_STREAM, HV_PROTOCOL_RAW\) failed with EAFNOSUPPORT\. /;

describe('hvsock selftest on Windows', () => {
  it('without AF_HYPERV, --json: exit 3, no checks, the missing provider named', { timeout: 120_000, skip: absentSkip }, (t) => {
    const r = selftest(t, '--json');
    assert.equal(r.status, 3, r.stderr);
    assert.equal(r.stderr, '');
    const report = JSON.parse(r.stdout);
    assert.equal(report.verdict, 'unavailable');
    assert.equal(report.platform, 'win32');
    assert.equal(report.family, 'AF_HYPERV');
    assert.equal(report.loopback, null);
    assert.deepEqual(report.checks, []);
    assert.match(report.unavailable, PROVIDER);
    assert.equal(report.node, process.version);
    assert.equal(report.hvsock, require('hvsock/package.json').version);
    assert.equal(report.os.type, 'Windows_NT');
    assert.equal(report.os.build, Number(require('node:os').release().split('.')[2]));
  });

  it('without AF_HYPERV, plain: exit 3 and one line saying why, no table', { timeout: 120_000, skip: absentSkip }, (t) => {
    const r = selftest(t);
    assert.equal(r.status, 3, r.stderr);
    const lines = r.stdout.trimEnd().split(/\r?\n/);
    assert.match(lines[0], /^hvsock \S+ on Node v\d+\.\d+\.\d+, win32 \S+, build \d+ \(x64\)$/);
    assert.ok(lines.some((line) => PROVIDER.test(line.replace(/^unavailable: /, ''))), r.stdout);
    assert.equal(lines.at(-1), 'verdict: unavailable (exit 3): nothing was connected');
    assert.ok(!lines.some((line) => /^check\s+result/.test(line)), 'no table');
  });

  it('over real AF_HYPERV: exit 0, every check ok, Hyper-V loopback addresses', { timeout: 600_000, skip: realSkip }, (t) => {
    const r = selftest(t, '--json');
    const report = JSON.parse(r.stdout);
    assert.equal(report.verdict, 'pass', r.stdout);
    assert.equal(r.status, 0);
    assert.equal(report.family, 'AF_HYPERV');
    assert.equal(report.loopback, 'HV_GUID_LOOPBACK');
    assert.equal(report.checks.length, 9);
    for (const check of report.checks) assert.equal(check.ok, true, `${check.name}: ${check.error}`);
  });
});
