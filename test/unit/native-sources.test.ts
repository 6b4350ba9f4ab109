// One list of native sources, binding.gyp's, for every build: node-gyp's,
// the mingw-w64 cross build (scripts/build-win32.mjs) and the sanitizer
// build (test/sanitize/build.mjs). gyp itself (node-gyp's copy, whose gypd
// generator writes a target out after its conditions) says what binding.gyp
// means for each OS; both builds must compute the same from the same file.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: plain ES modules of the build, without declarations
import { bindingTarget, parsePythonLiteral } from '../../scripts/binding-gyp.mjs';
// @ts-expect-error: as above
import { crossBuildTarget } from '../../scripts/build-win32.mjs';
// @ts-expect-error: as above
import { sanitizeTarget } from '../sanitize/build.mjs';

const ROOT = path.join(__dirname, '..', '..');
const require = createRequire(import.meta.url);
const GYP_MAIN = path.join(path.dirname(require.resolve('node-gyp/package.json')), 'gyp', 'gyp_main.py');

interface Target {
  sources: string[];
  defines: string[];
  cflags_cc: string[];
  libraries: string[];
}

let work: string;
let python: string;

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsock-gyp-'));
  // The Python node-gyp itself would build with.
  const { findPython } = require('node-gyp/lib/find-python');
  python = await findPython(process.env.npm_config_python);
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const computed = new Map<string, Target>();

/** binding.gyp's target for one gyp OS, as gyp computes it. */
function gypTarget(osName: string): Target {
  let target = computed.get(osName);
  if (target === undefined) {
    target = runGyp(osName);
    computed.set(osName, target);
  }
  return target;
}

function runGyp(osName: string): Target {
  const dir = fs.mkdtempSync(path.join(work, `${osName}-`));
  fs.copyFileSync(path.join(ROOT, 'binding.gyp'), path.join(dir, 'binding.gyp'));
  // node-gyp's addon.gypi gives every target its type; gyp refuses a target without one.
  fs.writeFileSync(path.join(dir, 'type.gypi'), "{'target_defaults': {'type': 'loadable_module'}}\n");
  execFileSync(python, [GYP_MAIN, 'binding.gyp', '-f', 'gypd', '--depth=.', `-DOS=${osName}`, '-I', 'type.gypi'], {
    cwd: dir,
    // binding.gyp's <!(node -p "require('node-addon-api')...") runs in the copy's folder.
    env: { ...process.env, NODE_PATH: path.join(ROOT, 'node_modules') },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const json = execFileSync(
    python,
    ['-c', 'import ast, json, sys; print(json.dumps(ast.literal_eval(open(sys.argv[1]).read())))', 'binding.gypd'],
    { cwd: dir, encoding: 'utf8' },
  );
  const target = JSON.parse(json).targets.find((t: { target_name: string }) => t.target_name === 'hvsock');
  const config = target.configurations[target.default_configuration];
  return {
    sources: target.sources ?? [],
    defines: config.defines ?? [],
    cflags_cc: config.cflags_cc ?? [],
    libraries: target.libraries ?? [],
  };
}

describe('native sources: binding.gyp is the one list', () => {
  it('the cross build compiles what gyp builds for Windows, plus the delay-load hook node-gyp adds itself', () => {
    const gyp = gypTarget('win');
    const cross = crossBuildTarget();
    expect(cross.sources).toEqual([...gyp.sources, 'native/win/delay_load_hook.cc']);
    expect(cross.defines).toEqual(gyp.defines);
    expect(cross.libraries).toEqual(gyp.libraries);
    expect(gyp.sources).toContain('native/engine_win.cc');
  }, 30_000);

  it('the sanitizer build compiles what gyp builds for Linux, plus its UBSan log hook', () => {
    const gyp = gypTarget('linux');
    const sanitized = sanitizeTarget();
    expect(sanitized.sources).toEqual([...gyp.sources, 'test/sanitize/ubsan-log-path.cc']);
    expect(sanitized.defines).toEqual(gyp.defines);
    expect(sanitized.cflags_cc).toEqual(gyp.cflags_cc);
    expect(gyp.sources).toContain('native/engine_posix.cc');
  }, 30_000);

  it('reads binding.gyp as gyp does for every OS it names', () => {
    for (const osName of ['linux', 'win', 'mac']) {
      const gyp = gypTarget(osName);
      const { sources, defines, cflags_cc, libraries } = bindingTarget(osName);
      expect({ os: osName, sources, defines, cflags_cc, libraries }).toEqual({ os: osName, ...gyp });
    }
  }, 60_000);

  it('every C++ file under native/ is built somewhere, and every listed file exists', () => {
    const listed = new Set([...bindingTarget('linux').sources, ...crossBuildTarget().sources]);
    const onDisk = fs
      .readdirSync(path.join(ROOT, 'native'), { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.cc'))
      .map((file) => `native/${file.split(path.sep).join('/')}`);
    expect([...listed].sort()).toEqual(onDisk.sort());
  });

  it('reads the Python literal syntax a .gyp file may use', () => {
    const text = `# a comment
{
  'targets': [{ "name": 'a' 'b', # adjacent strings join
    'list': [1, -2, True, False, None, ('x',),],
    'quote': 'it\\'s',
  },],
}`;
    expect(parsePythonLiteral(text)).toEqual({
      targets: [{ name: 'ab', list: [1, -2, true, false, null, ['x']], quote: "it's" }],
    });
    expect(() => parsePythonLiteral("{'a': 1} extra")).toThrow(/text after the literal/);
    expect(() => parsePythonLiteral("{'a' 1}")).toThrow(/expected :/);
  });
});
