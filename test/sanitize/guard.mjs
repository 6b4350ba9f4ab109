// Runs one command with the AddressSanitizer and UndefinedBehaviorSanitizer
// runtimes preloaded, and fails when any sanitizer report was written, even
// if the command itself passed:
//   node test/sanitize/guard.mjs [--vitest-workers] -- <command> [args...]
// Used on this machine for the engine suite and inside the QEMU guest for the
// vsock suite (the guest's /tmp is its own: the reports must be judged there).
// --vitest-workers: the runtimes go to vitest's workers only, not to the
// command itself (see workerEnv and test/sanitize/vitest.config.ts).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const say = (message) => process.stderr.write(`hvsock sanitize: ${message}\n`);

/** The runtimes the sanitized addon was linked against, from the compiler that built it. */
function runtime(name) {
  const r = spawnSync(process.env.CXX || 'g++', [`-print-file-name=${name}`], { encoding: 'utf8' });
  const file = r.stdout?.trim();
  if (r.status !== 0 || !file || !path.isAbsolute(file) || !fs.existsSync(file)) {
    throw new Error(`no ${name} (g++ -print-file-name=${name} gave ${JSON.stringify(file)}); install libasan8 and libubsan1`);
  }
  return fs.realpathSync(file);
}

/**
 * The sanitizer variables. node itself is not built with ASan, so the
 * runtime must be preloaded to come first. Every process the command starts
 * inherits them (npx, sh, python3, vitest's forks, the suites' child nodes):
 * harmless, as in an uninstrumented program ASan only checks what passes its
 * interceptors (malloc/free, the mem and str functions), and a report from
 * any of them is a real bug worth failing on.
 */
function sanitizerEnv(logDir) {
  const preload = [runtime('libasan.so'), runtime('libubsan.so'), process.env.LD_PRELOAD].filter(Boolean).join(':');
  // detect_leaks=0: LeakSanitizer is off. Node frees neither its isolate nor
  // much global state at exit by design, and every allocation's stack runs
  // through node's own frames (main, the event loop), so no suppression could
  // single out node's leaks without hiding the addon's too. The suites check
  // instead that descriptors come back after sockets close.
  //
  // allow_user_segv_handler=0: ASan keeps its own SIGSEGV and SIGBUS handlers.
  // Node installs one for WebAssembly traps that, for any other fault, does
  // not pass it on to ASan's: the process just dies with signal 11 (exit
  // status 139) and no report, as a crash in the addon would. With ASan's
  // handler a crash is a report with a stack, like any other finding. (A
  // WebAssembly out-of-bounds access would be one too: nothing here makes any.)
  const asan = ['detect_leaks=0', 'halt_on_error=1', 'allow_user_segv_handler=0', `log_path=${path.join(logDir, 'asan')}`];
  // The addon is built with -fno-sanitize-recover=all, so UBSan aborts on
  // its first finding; halt_on_error covers any check that could recover.
  // log_path reaches libubsan through test/sanitize/ubsan-log-path.cc.
  const ubsan = ['halt_on_error=1', 'print_stacktrace=1', `log_path=${path.join(logDir, 'ubsan')}`];
  return { LD_PRELOAD: preload, ASAN_OPTIONS: asan.join(':'), UBSAN_OPTIONS: ubsan.join(':') };
}

/**
 * For a vitest run whose main process stays as it is: the sanitizer variables
 * and HVSOCK_ADDON_PATH travel in HVSOCK_SANITIZE_WORKER_ENV, which
 * test/sanitize/vitest.config.ts hands to vitest's workers (the processes that
 * run the tests, load the addon and start the fixtures). vitest's main process
 * only schedules files and reports; it loads the addon once, for globalSetup's
 * loopback probe (test/vm/require-loopback.ts), and takes the regular build for
 * that, a path every sanitized test takes anyway. Without the sanitizers it is
 * spared their cost and their interplay with all of vite and node: in CI, a
 * vitest main process under ASan once died of a segmentation fault between
 * two passing files, with no report (node's SIGSEGV handler then stood in
 * ASan's way), and four full reruns in the guest did not repeat it.
 */
function workerEnv(variables) {
  const { HVSOCK_ADDON_PATH: addon, ...env } = process.env;
  const forWorkers = { ...variables, ...(addon === undefined ? {} : { HVSOCK_ADDON_PATH: addon }) };
  return { ...env, HVSOCK_SANITIZE_WORKER_ENV: JSON.stringify(forWorkers) };
}

/**
 * Runs command under the sanitizers (with vitestWorkers, its vitest workers:
 * see workerEnv); returns its exit status, or 1 when it passed but reports exist.
 */
export function guarded(command, { label = command.join(' '), vitestWorkers = false, ...options } = {}) {
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsock-sanitize-'));
  try {
    const variables = sanitizerEnv(logDir);
    const env = vitestWorkers ? workerEnv(variables) : { ...process.env, ...variables };
    const r = spawnSync(command[0], command.slice(1), { stdio: 'inherit', ...options, env });
    if (r.error) say(`cannot run ${command[0]}: ${r.error.message}`);
    const status = r.status ?? (r.signal ? 128 + os.constants.signals[r.signal] : 1);
    // Written only when a sanitizer has something to say: one file per process (.PID).
    const reports = fs.readdirSync(logDir).sort();
    for (const file of reports) {
      process.stderr.write(`\n===== sanitizer report ${file} =====\n${fs.readFileSync(path.join(logDir, file), 'utf8')}\n`);
    }
    say(`${reports.length} sanitizer report${reports.length === 1 ? '' : 's'} from "${label}" (exit status ${status})`);
    return reports.length > 0 ? status || 1 : status;
  } finally {
    fs.rmSync(logDir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const at = process.argv.indexOf('--');
  const flags = at < 0 ? [] : process.argv.slice(2, at);
  const command = at < 0 ? [] : process.argv.slice(at + 1);
  if (command.length === 0 || flags.some((flag) => flag !== '--vitest-workers')) {
    say('usage: node test/sanitize/guard.mjs [--vitest-workers] -- <command> [args...]');
    process.exitCode = 2;
  } else {
    try {
      process.exitCode = guarded(command, { vitestWorkers: flags.includes('--vitest-workers') });
    } catch (error) {
      say(error.message);
      process.exitCode = 125;
    }
  }
}
