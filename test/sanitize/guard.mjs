// Runs one command with the AddressSanitizer and UndefinedBehaviorSanitizer
// runtimes preloaded, and fails when any sanitizer report was written, even
// if the command itself passed:
//   node test/sanitize/guard.mjs -- <command> [args...]
// Used on this machine for the engine suite and inside the QEMU guest for the
// vsock suite (the guest's /tmp is its own: the reports must be judged there).
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
 * Environment for the command. node itself is not built with ASan, so the
 * runtime must be preloaded to come first. Every process the command starts
 * inherits it (npx, sh, python3, vitest's forks, the suites' child nodes):
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
  return { ...process.env, LD_PRELOAD: preload, ASAN_OPTIONS: asan.join(':'), UBSAN_OPTIONS: ubsan.join(':') };
}

/** Runs command under the sanitizers; returns its exit status, or 1 when it passed but reports exist. */
export function guarded(command, { label = command.join(' '), ...options } = {}) {
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsock-sanitize-'));
  try {
    const r = spawnSync(command[0], command.slice(1), { stdio: 'inherit', ...options, env: sanitizerEnv(logDir) });
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
  const command = at < 0 ? [] : process.argv.slice(at + 1);
  if (command.length === 0) {
    say('usage: node test/sanitize/guard.mjs -- <command> [args...]');
    process.exitCode = 2;
  } else {
    try {
      process.exitCode = guarded(command);
    } catch (error) {
      say(error.message);
      process.exitCode = 125;
    }
  }
}
