// Cross-compiles the addon for Windows x64 on Linux with Debian's mingw-w64,
// into prebuilds/win32-x64/, where node-gyp-build finds it on Windows:
//   node scripts/build-win32.mjs [--out DIR]
// node-gyp would need a dozen overrides to do this; the build is small enough
// to spell out. What it compiles comes from binding.gyp's Windows target
// (sources, defines, include directories, libraries; read by
// scripts/binding-gyp.mjs), which Windows users who build from source get
// through node-gyp and MSVC instead: one list for both.
//
// What the binary imports from the executable that loads it (Node-API and a
// few libuv functions) comes from delay-load import libraries made here from
// .def files, resolved at run time by native/win/delay_load_hook.cc.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bindingTarget } from './binding-gyp.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const work = join(root, 'build', 'win32-x64');
// node-gyp adds its own copy of this hook to every MSVC build, so binding.gyp
// does not list it; the cross build must bring it.
const DELAY_LOAD_HOOK = 'native/win/delay_load_hook.cc';

const TRIPLE = 'x86_64-w64-mingw32';
// The -posix flavour: Debian's default -win32 one lacks std::thread/mutex
// support in libstdc++, which node-addon-api's headers pull in.
const CXX = `${TRIPLE}-g++-posix`;
const DLLTOOL = `${TRIPLE}-dlltool`;

// The libuv functions the Windows engine calls; node.exe exports them.
const UV_IMPORTS = ['uv_async_init', 'uv_async_send', 'uv_close', 'uv_ref', 'uv_unref', 'uv_translate_sys_error', 'uv_timer_init', 'uv_timer_start', 'uv_timer_stop'];

function fail(message) {
  console.error(`build-win32: ${message}`);
  process.exit(1);
}

function run(file, argv) {
  try {
    execFileSync(file, argv, { stdio: 'inherit', cwd: root });
  } catch (error) {
    if (error.code === 'ENOENT') {
      fail(`${file} not found; install Debian's g++-mingw-w64-x86-64-posix and mingw-w64-tools`);
    }
    fail(`${file} failed`);
  }
}

/** libuv's headers (uv.h, uv/win.h) as they come with any Node installation or node-gyp's cache. */
function uvIncludeDir() {
  const candidates = [
    process.env.npm_config_nodedir && join(process.env.npm_config_nodedir, 'include', 'node'),
    join(dirname(process.execPath), '..', 'include', 'node'),
    join(homedir(), '.cache', 'node-gyp', process.versions.node, 'include', 'node'),
    join(homedir(), 'AppData', 'Local', 'node-gyp', 'Cache', process.versions.node, 'include', 'node'),
  ].filter(Boolean);
  const found = candidates.find((dir) => existsSync(join(dir, 'uv', 'win.h')));
  if (found === undefined) fail(`no libuv headers (uv/win.h) in: ${candidates.join(', ')}`);
  return found;
}

/**
 * What the cross build compiles: binding.gyp's OS=='win' target, plus the
 * delay-load hook. Sources are relative to the package root, as binding.gyp
 * writes them.
 */
export function crossBuildTarget() {
  const target = bindingTarget('win');
  return { ...target, sources: [...target.sources, DELAY_LOAD_HOOK] };
}

function build(outDir) {
  const target = crossBuildTarget();
  mkdirSync(work, { recursive: true });
  mkdirSync(outDir, { recursive: true });

  // Delay-load import libraries: Node-API from node-api-headers' .def, libuv from ours.
  const napiDef = join(dirname(require.resolve('node-api-headers/package.json')), 'def', 'node_api.def');
  const uvDef = join(work, 'uv.def');
  writeFileSync(uvDef, `LIBRARY node.exe\nEXPORTS\n${UV_IMPORTS.join('\n')}\n`);
  const napiLib = join(work, 'libnode_api_delay.a');
  const uvLib = join(work, 'libuv_delay.a');
  run(DLLTOOL, ['-d', napiDef, '-y', napiLib]);
  run(DLLTOOL, ['-d', uvDef, '-y', uvLib]);

  // Named as prebuildify names the other targets' binaries.
  const output = join(outDir, `${JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).name}.node`);
  run(CXX, [
    '-O2',
    '-std=c++17',
    '-Wall',
    '-Wextra',
    '-Wno-unused-parameter',
    '-Wno-cast-function-type',
    // node-gyp's own define for every addon, then binding.gyp's.
    '-DBUILDING_NODE_EXTENSION',
    ...target.defines.map((define) => `-D${define}`),
    // Node-API's headers from node-api-headers, binding.gyp's, then libuv's
    // from a Node installation (whose own node_api.h must not come first).
    '-I', dirname(require.resolve('node-api-headers/package.json')) + '/include',
    ...target.include_dirs.flatMap((dir) => ['-I', dir]),
    '-I', uvIncludeDir(),
    ...target.sources.map((source) => join(root, source)),
    '-shared',
    // No MinGW runtime DLLs next to the addon: everything static.
    '-static',
    '-static-libgcc',
    '-static-libstdc++',
    '-s',
    '-o', output,
    napiLib,
    uvLib,
    '-ldelayimp',
    // MSVC names (ws2_32.lib) as mingw's -l names.
    ...target.libraries.map((library) => `-l${library.replace(/\.lib$/i, '')}`),
  ]);
  console.log(`build-win32: ${output}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const outIndex = args.indexOf('--out');
  build(outIndex >= 0 ? args[outIndex + 1] : join(root, 'prebuilds', 'win32-x64'));
}
