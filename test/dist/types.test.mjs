// TypeScript consumers: the npm tarball, installed with @types/node the way a
// user installs it (`npm i hvsock @types/node`), typechecks with
// `tsc --strict` under every supported compiler line (TypeScript 5.x and 7.x,
// from this repository's devDependencies), module setting (nodenext, node16,
// bundler) and module format (ESM in a "type": "module" project, CJS in
// .cts), with the declarations checked (skipLibCheck false) and not. The
// consumer (types-consumer/) uses the typed events, both entries and the
// error types, and marks with `// @ts-expect-error` what must not compile:
// a misspelt event name, a listener with the wrong parameter type. tsc fails
// on a directive with no error under it, so a run that passes proves those
// lines are rejected; one run per compiler without the directives shows they
// are rejected for the reason given, and nothing else is.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { typescriptCompilers } from '../../scripts/compilers.mjs';
import { installInto, pack, ROOT } from './helpers.mjs';

const CONSUMER = path.join(ROOT, 'test', 'dist', 'types-consumer');
const COMPILERS = typescriptCompilers();
/** The consumer's files per format, as [fixture, name in the project]; the project is "type": "module". */
const FORMATS = {
  esm: [
    ['checks.mts', 'checks.ts'],
    ['esm.mts', 'esm.ts'],
  ],
  cjs: [
    ['checks.mts', 'checks.cts'],
    ['cjs.cts', 'cjs.cts'],
  ],
};
/** moduleResolution → module, per format (a bundler project compiles `import x = require()` only under preserve). */
const SETTINGS = {
  nodenext: { esm: 'nodenext', cjs: 'nodenext' },
  node16: { esm: 'node16', cjs: 'node16' },
  bundler: { esm: 'esnext', cjs: 'preserve' },
};
/** The oldest @types/node the package's peer range (>=18) allows, beside the newest. */
const TYPES_NODE_FLOOR = '18';
const LONG = { timeout: 10 * 60_000 };

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsock-types-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));

/** A consumer project: the tarball and `typesNode` installed, the consumer's files copied in. */
function consumer(name, tarball, typesNode) {
  const dir = installInto(work, name, tarball, { packages: [typesNode], manifest: { type: 'module' } });
  for (const files of Object.values(FORMATS)) {
    for (const [fixture, file] of files) fs.copyFileSync(path.join(CONSUMER, fixture), path.join(dir, file));
  }
  return dir;
}

/**
 * Runs `compiler` on `files` in `dir` with these options; resolves with
 * { status, output }. Asynchronous, so that two compiles run at once (the
 * suite's concurrency, one per core); each has a tsconfig of its own, named
 * for the compiler and the options.
 */
function tsc(compiler, dir, files, options) {
  const config = `tsconfig.ts${compiler.version}.${Object.values(options).join('-')}.json`;
  const compilerOptions = { strict: true, noEmit: true, target: 'es2022', ...options };
  fs.writeFileSync(path.join(dir, config), JSON.stringify({ compilerOptions, files }, null, 2));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [compiler.tsc, '-p', config, '--pretty', 'false'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, output: `${stdout}${stderr}` }));
  });
}

/** Asserts tsc passed, printing its output if not. */
function assertClean({ status, output }) {
  assert.equal(status, 0, output);
  assert.equal(output.trim(), '');
}

// Two compiles at a time: each tsc is one busy thread for seconds, and the
// cases share nothing but the installed projects, which they only read.
describe('TypeScript consumers of the npm tarball', { concurrency: 2 }, () => {
  let latest;
  let floor;
  before(() => {
    const { file } = pack(work);
    latest = consumer('types-node-latest', file, '@types/node');
    floor = consumer(`types-node-${TYPES_NODE_FLOOR}`, file, `@types/node@${TYPES_NODE_FLOOR}`);
  }, LONG);

  it('every declaration file references Node’s types itself; @types/node and undici (hvsock/http\'s fetch dispatcher) are optional peers', (t) => {
    const pkg = path.join(latest, 'node_modules', 'hvsock');
    const declarations = fs
      .readdirSync(path.join(pkg, 'dist'), { recursive: true })
      .filter((file) => /\.d\.m?ts$/.test(file));
    t.diagnostic(`${declarations.length} declaration files`);
    assert.ok(declarations.includes(path.join('cjs', 'index.d.ts')) && declarations.includes(path.join('esm', 'index.d.mts')));
    for (const file of declarations) {
      assert.match(fs.readFileSync(path.join(pkg, 'dist', file), 'utf8'), /^\/\/\/ <reference types="node" \/>\n/, file);
    }
    const manifest = JSON.parse(fs.readFileSync(path.join(pkg, 'package.json'), 'utf8'));
    assert.deepEqual(manifest.peerDependencies, { '@types/node': '>=18', undici: '>=6' });
    assert.deepEqual(manifest.peerDependenciesMeta, { '@types/node': { optional: true }, undici: { optional: true } });
    const installed = (dir) => JSON.parse(fs.readFileSync(path.join(dir, 'node_modules', '@types', 'node', 'package.json'), 'utf8')).version;
    t.diagnostic(`@types/node ${installed(latest)} (newest) and ${installed(floor)} (floor)`);
    assert.match(installed(floor), new RegExp(`^${TYPES_NODE_FLOOR}\\.`));
  });

  for (const compiler of COMPILERS) {
    for (const [moduleResolution, modules] of Object.entries(SETTINGS)) {
      for (const [format, files] of Object.entries(FORMATS)) {
        for (const skipLibCheck of [false, true]) {
          it(`TypeScript ${compiler.version}: ${moduleResolution}, ${format.toUpperCase()}, skipLibCheck ${skipLibCheck}`, async () => {
            assertClean(await tsc(compiler, latest, files.map(([, file]) => file), { module: modules[format], moduleResolution, skipLibCheck }));
          });
        }
      }
    }
    for (const format of Object.keys(FORMATS)) {
      it(`TypeScript ${compiler.version}: nodenext, ${format.toUpperCase()}, skipLibCheck false, with @types/node ${TYPES_NODE_FLOOR}`, async () => {
        const files = FORMATS[format].map(([, file]) => file);
        assertClean(await tsc(compiler, floor, files, { module: 'nodenext', moduleResolution: 'nodenext', skipLibCheck: false }));
      });
    }

    it(`TypeScript ${compiler.version}: without the @ts-expect-error lines, exactly the lines under them fail, for the reason given`, async (t) => {
      const lines = fs.readFileSync(path.join(CONSUMER, 'checks.mts'), 'utf8').split('\n');
      const directive = (line) => /^\s*\/\/ @ts-expect-error /.test(line);
      const kept = lines.filter((line) => !directive(line));
      // 1-based line numbers, in the file without the directives, of each line a directive stood over.
      const expected = [];
      lines.forEach((line, i) => {
        if (directive(line)) expected.push(i + 1 - expected.length);
      });
      assert.ok(expected.length >= 10, `${expected.length} directives`);
      // A file per compiler: the other compiler's run may be reading its own.
      const bare = `bare-ts${compiler.version}.ts`;
      fs.writeFileSync(path.join(latest, bare), kept.join('\n'));
      const { status, output } = await tsc(compiler, latest, [bare], { module: 'nodenext', moduleResolution: 'nodenext', skipLibCheck: true });
      assert.notEqual(status, 0, output);
      const at = new RegExp(`^${bare.replace(/[.]/g, '\\.')}\\((\\d+),\\d+\\): error TS\\d+`, 'gm');
      const failing = [...new Set([...output.matchAll(at)].map((m) => Number(m[1])))];
      assert.deepEqual(failing, expected, output);
      t.diagnostic(`${failing.length} lines rejected`);
      // The message a user sees names the misspelt event and the wrong parameter type.
      assert.match(output, /Argument of type '"conection"' is not assignable to parameter of type 'keyof ServerEvents'/);
      assert.match(output, /Argument of type '"daat"' is not assignable to parameter of type 'keyof SocketEvents'/);
      assert.match(output, /Type 'Socket' is not assignable to type 'string'/);
      assert.match(output, /Type 'Buffer(<ArrayBufferLike>)?' is not assignable to type 'number'/);
    });
  }
});
