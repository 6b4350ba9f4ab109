// The Windows host tools start system programs (wsl.exe, powershell.exe,
// hcsdiag.exe) by full path, never by bare name: for a bare name, libuv's
// uv_spawn on Windows looks in the current folder before PATH
// (nodejs/node:deps/uv/src/win/process.c, search_path(): "If there's really only a
// filename, check the current directory for file, then search all path
// directories"), so an elevated `hvsock vm nested` run from a writable
// folder, or a service following WSL (a lookup every 5 s while WSL is down),
// would run whatever program of that name sits there.
//
// Here a folder holds planted wsl.exe, powershell.exe and hcsdiag.exe
// (fixtures/planted.c, built by run.mjs --wine with mingw-w64): each leaves
// a marker file beside itself if run, and answers as the real program would
// (a made-up VM ID). The host lookups and the CLI commands run with that
// folder as their current folder; no marker may appear, no planted ID may
// come back, and a program missing from its full path is named by that path.
// Windows only; under Wine, System32 is the prefix's C:\windows\system32,
// which has no wsl.exe or hcsdiag.exe.
'use strict';
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { after, beforeEach, describe, it } = require('node:test');

const PLANTED = path.join(__dirname, 'fixtures', 'planted.exe');
const PLANTED_ID = '0badc0de-0000-4000-8000-0000000000ab';
const PROGRAMS = ['wsl.exe', 'powershell.exe', 'hcsdiag.exe'];
const skip =
  process.platform !== 'win32'
    ? 'Windows only: the current-folder search is libuv\'s on Windows'
    : !fs.existsSync(PLANTED) && 'fixtures/planted.exe is built by run.mjs --wine (mingw-w64); this run has none';
const T = { timeout: 240_000, skip };

// Where the programs must be looked for: %SystemRoot%\System32 for 64-bit Node (this suite's).
const systemRoot = process.env.SystemRoot || 'C:\\Windows';
const expected = {
  'wsl.exe': path.win32.join(systemRoot, 'System32', 'wsl.exe'),
  'hcsdiag.exe': path.win32.join(systemRoot, 'System32', 'hcsdiag.exe'),
  'powershell.exe': path.win32.join(systemRoot, 'System32', 'WindowsPowerShell', 'v1.0', 'powershell.exe'),
};
const cli = () => path.join(path.dirname(require.resolve('hvsock')), 'cli', 'main.js');
const lower = (text) => String(text).toLowerCase();

describe('host tools never run a program planted in the current folder', () => {
  // A fresh folder per test, so each test's markers are its own.
  const folders = [];
  let dir;
  beforeEach(() => {
    if (skip) return;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsock-planted-'));
    folders.push(dir);
    for (const name of PROGRAMS) fs.copyFileSync(PLANTED, path.join(dir, name));
  });
  after(() => {
    for (const folder of folders) fs.rmSync(folder, { recursive: true, force: true });
  });

  /** Markers the planted programs left (each run of one leaves <name>.ran). */
  const markers = () => fs.readdirSync(dir).filter((f) => f.endsWith('.ran')).sort();
  function noneRan(what) {
    const ran = markers();
    assert.deepEqual(ran, [], `${what}: planted programs ran from the current folder: ${ran.map((f) => f.replace(/\.ran$/, '')).join(', ')}`);
  }

  /** What a reason or message must say about a program missing from its full path (Wine has no wsl.exe or hcsdiag.exe). */
  function namesMissing(text, program) {
    assert.ok(!fs.existsSync(expected[program]), `${expected[program]} exists here: this check assumes it does not`);
    assert.ok(lower(text).includes(lower(`not found at ${expected[program]}`)), `"${text}" names ${expected[program]}`);
  }

  /**
   * A missing powershell.exe is named by its path. Wine 8 has a stand-in at
   * that path, which prints nothing for these scripts: then the error names
   * the program that did run, by the same full path.
   */
  function powershellOutcome(outcome) {
    assert.ok(outcome.error !== undefined, `no error: ${JSON.stringify(outcome)}`);
    assert.ok(!lower(JSON.stringify(outcome)).includes(PLANTED_ID), 'the planted powershell.exe answered');
    assert.equal(lower(outcome.error.path), lower(expected['powershell.exe']));
    if (fs.existsSync(expected['powershell.exe'])) {
      assert.ok(lower(outcome.error.message).startsWith(lower(`PowerShell (${expected['powershell.exe']}) printed nothing`)), outcome.error.message);
    } else {
      assert.equal(outcome.error.code, 'ENOSYS');
      namesMissing(outcome.error.message, 'powershell.exe');
    }
  }

  it('the library: WSL lookups, a WSL-following server, the Hyper-V VM tools (child process in the folder)', T, (t) => {
    const r = spawnSync(process.execPath, [path.join(__dirname, 'fixtures', 'planted-child.cjs')], { cwd: dir, encoding: 'utf8', timeout: 180_000 });
    t.diagnostic(`child: ${r.stdout.trim()} ${r.stderr.trim()}`);
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(lower(report.cwd), lower(fs.realpathSync(dir)));
    noneRan('the library');

    for (const name of ['lookupWslVmId', 'getWslVmId']) {
      const { error } = report[name];
      assert.equal(error?.code, 'ERR_WSL_VM_NOT_FOUND', `${name}: ${JSON.stringify(report[name])}`);
      assert.deepEqual(error.attempts.map((a) => a.source), ['wsl.exe', 'hcs', 'registry', 'hcsdiag']);
      namesMissing(error.attempts[0].reason, 'wsl.exe');
      namesMissing(error.attempts[3].reason, 'hcsdiag.exe');
    }
    assert.equal(report.wslServer.event, 'wsldown', JSON.stringify(report.wslServer));
    namesMissing(report.wslServer.value.attempts[0].reason, 'wsl.exe');
    for (const name of ['getVmId', 'listVms', 'getNestedStatus', 'setNested']) powershellOutcome(report[name]);
    // The runner behind the lookup refuses a bare name outright (a second line of defence).
    assert.deepEqual(report.bareName, { exitCode: null, stdout: '', stderr: '', error: 'refused to run wsl.exe by bare name (a full path is needed on Windows)' });
  });

  it('the CLI: `hvsock wsl id`, `vm id`, `vm list`, `vm nested` run in the folder', T, () => {
    const hv = (...args) => spawnSync(process.execPath, [cli(), ...args], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
    const runs = [['wsl', 'id', '--json'], ['wsl', 'id'], ['vm', 'id', 'X'], ['vm', 'list'], ['vm', 'nested', 'X'], ['vm', 'nested', 'X', '--enable']].map((args) => ({
      args,
      ...hv(...args),
    }));
    noneRan('the CLI');

    const [json, text, ...vm] = runs;
    assert.equal(json.status, 3, json.stdout + json.stderr);
    const report = JSON.parse(json.stdout);
    assert.equal(report.vmId, null);
    namesMissing(report.attempts[0].reason, 'wsl.exe');
    namesMissing(report.attempts[3].reason, 'hcsdiag.exe');
    assert.equal(text.status, 3, text.stdout + text.stderr);
    namesMissing(text.stderr, 'wsl.exe');
    for (const r of vm) {
      const said = `${r.args.join(' ')}: exit ${r.status}, ${r.stdout} ${r.stderr}`;
      assert.ok(!lower(r.stdout + r.stderr).includes(PLANTED_ID), `the planted powershell.exe answered: ${said}`);
      assert.notEqual(r.status, 0, said);
      if (fs.existsSync(expected['powershell.exe'])) {
        assert.equal(r.status, 1, said);
        assert.ok(lower(r.stderr).includes(lower(`PowerShell (${expected['powershell.exe']}) printed nothing`)), said);
      } else {
        assert.equal(r.status, 3, said);
        namesMissing(r.stderr, 'powershell.exe');
      }
    }
  });
});
