// Builds the Linux addon with AddressSanitizer and UndefinedBehaviorSanitizer
// into build-sanitize/hvsock.node, outside build/: node-gyp rebuild wipes
// build/, and other runs may be using it at the same time. The sources,
// defines and C++ flags are binding.gyp's Linux target, read from the file;
// the rest is what node-gyp adds for every addon (see build/*.target.mk),
// plus test/sanitize/ubsan-log-path.cc, which only this build carries.
//   node test/sanitize/build.mjs      prints the path of the .node file
import { execSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const OUT_DIR = path.join(ROOT, 'build-sanitize');
const CXX = process.env.CXX || 'g++';

const SANITIZE = [
  '-fsanitize=address,undefined',
  // Every UBSan finding aborts instead of printing and carrying on.
  '-fno-sanitize-recover=all',
  '-fno-omit-frame-pointer',
  '-g',
  '-O1',
];
// node-gyp's own flags for every Linux addon (common.gypi), minus -O3.
const NODE_GYP_DEFINES = ['NODE_GYP_MODULE_NAME=hvsock', 'USING_UV_SHARED=1', 'USING_V8_SHARED=1', '_FILE_OFFSET_BITS=64', '_LARGEFILE_SOURCE', '__STDC_FORMAT_MACROS', 'BUILDING_NODE_EXTENSION'];
const NODE_GYP_FLAGS = ['-fPIC', '-pthread', '-m64', '-fno-rtti', '-fno-exceptions'];

/** binding.gyp is a Python literal (comments, trailing commas): Python reads it. */
function bindingTarget() {
  const r = spawnSync('python3', ['-c', 'import ast, json, sys; print(json.dumps(ast.literal_eval(open(sys.argv[1]).read())))', path.join(ROOT, 'binding.gyp')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`sanitize build: cannot read binding.gyp: ${r.stderr || r.error?.message}`);
  const target = JSON.parse(r.stdout).targets.find((t) => t.target_name === 'hvsock');
  // Only the OS conditions binding.gyp has; anything else should be added here, not guessed.
  const merged = { sources: [...target.sources], defines: [...(target.defines ?? [])], include_dirs: [...(target.include_dirs ?? [])], cflags_cc: [...(target.cflags_cc ?? [])] };
  for (const [condition, settings] of target.conditions ?? []) {
    const m = /^OS\s*(==|!=)\s*'(\w+)'$/.exec(condition);
    if (m === null) throw new Error(`sanitize build: binding.gyp condition ${condition} is not understood`);
    if ((m[2] === 'linux') !== (m[1] === '==')) continue;
    for (const key of Object.keys(merged)) merged[key].push(...(settings[key] ?? []));
  }
  // gyp's <!(command): the command's output.
  merged.include_dirs = merged.include_dirs.map((dir) => {
    const m = /^<!\((.*)\)$/.exec(dir);
    return m ? execSync(m[1], { cwd: ROOT, encoding: 'utf8' }).trim() : path.resolve(ROOT, dir);
  });
  return merged;
}

/** Node's headers (node_api.h, uv.h) as node-gyp finds them: nodedir, beside this node, or node-gyp's cache. */
function nodeIncludeDir() {
  const candidates = [
    process.env.npm_config_nodedir && path.join(process.env.npm_config_nodedir, 'include', 'node'),
    path.join(path.dirname(process.execPath), '..', 'include', 'node'),
    path.join(homedir(), '.cache', 'node-gyp', process.versions.node, 'include', 'node'),
  ].filter(Boolean);
  const found = candidates.find((dir) => fs.existsSync(path.join(dir, 'uv.h')));
  if (found === undefined) throw new Error(`sanitize build: no Node headers (uv.h) in ${candidates.join(', ')}`);
  return found;
}

function compiler(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(CXX, args, { cwd: ROOT, stdio: ['ignore', 2, 2] });
    child.on('error', (e) => reject(new Error(`sanitize build: cannot run ${CXX}: ${e.message}`)));
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`sanitize build: ${CXX} ${args.at(-1)} failed`))));
  });
}

/** Compiles each source in parallel (two cores), links, and returns the .node file's path. */
export async function buildSanitized() {
  const target = bindingTarget();
  target.sources.push(path.join('test', 'sanitize', 'ubsan-log-path.cc'));
  // Objects in a folder of this run's own, and the module renamed into place:
  // another checkout's run may be building, or loading the last build, now.
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const objDir = fs.mkdtempSync(path.join(OUT_DIR, 'obj-'));
  try {
    const includes = [nodeIncludeDir(), ...target.include_dirs].map((dir) => `-I${dir}`);
    const defines = [...NODE_GYP_DEFINES, ...target.defines].map((d) => `-D${d}`);
    const objects = await Promise.all(
      target.sources.map(async (source) => {
        const object = path.join(objDir, `${path.basename(source, path.extname(source))}.o`);
        await compiler([...NODE_GYP_FLAGS, ...target.cflags_cc, ...SANITIZE, ...defines, ...includes, '-c', '-o', object, source]);
        return object;
      }),
    );
    const output = path.join(OUT_DIR, 'hvsock.node');
    const linked = path.join(objDir, 'hvsock.node');
    // Linked with -fsanitize: the module needs libasan and libubsan (DT_NEEDED),
    // so it refuses to load in a node that lacks the preloaded runtime.
    await compiler(['-shared', '-pthread', '-m64', ...SANITIZE, '-o', linked, ...objects, '-ldl']);
    fs.renameSync(linked, output);
    return output;
  } finally {
    fs.rmSync(objDir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  buildSanitized().then((file) => console.log(file), (error) => {
    console.error(error.message);
    process.exitCode = 1;
  });
}
