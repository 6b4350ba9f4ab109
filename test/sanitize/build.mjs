// Builds the Linux addon with AddressSanitizer and UndefinedBehaviorSanitizer
// into build-sanitize/hvsock.node, outside build/: node-gyp rebuild wipes
// build/, and other runs may be using it at the same time. The sources,
// defines and C++ flags are binding.gyp's Linux target, read from the file
// (scripts/binding-gyp.mjs); the rest is what node-gyp adds for every addon
// (see build/*.target.mk), plus test/sanitize/ubsan-log-path.cc, which only
// this build carries.
//   node test/sanitize/build.mjs      prints the path of the .node file
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bindingTarget } from '../../scripts/binding-gyp.mjs';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const OUT_DIR = path.join(ROOT, 'build-sanitize');
const CXX = process.env.CXX || 'g++';
const UBSAN_LOG_PATH = 'test/sanitize/ubsan-log-path.cc';

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

/** What this build compiles: binding.gyp's Linux target, plus the UBSan log hook. Sources are relative to the package root. */
export function sanitizeTarget() {
  const target = bindingTarget('linux');
  return { ...target, sources: [...target.sources, UBSAN_LOG_PATH] };
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
  const target = sanitizeTarget();
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
