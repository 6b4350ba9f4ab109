// `hvsock selftest` as a library call: proves the stack works on this
// machine over its own loopback, one check after another, and reports where
// it ran. Opens no connection anywhere but this machine's loopback, and none
// at all where that loopback cannot be proven local (loopback.ts).
import { arch, release, type, version } from 'node:os';
import { performance } from 'node:perf_hooks';
import { packageVersion } from '../transport/native.js';
import { CHECKS, CheckFailed, type Check } from './checks.js';
import { findLoopback, type Loopback } from './loopback.js';
import { roundMs, verdictOf, type CheckResult, type SelftestEnvironment, type SelftestReport } from './report.js';
import { Scope } from './scope.js';

/** The OS, Node and hvsock this ran on: what a bug report needs first. */
export function describeEnvironment(): SelftestEnvironment {
  const os: SelftestEnvironment['os'] = { type: type(), release: release(), version: version() };
  // Windows' release is major.minor.build (10.0.20348).
  const build = process.platform === 'win32' ? Number(release().split('.')[2]) : NaN;
  if (Number.isInteger(build)) os.build = build;
  return { hvsock: packageVersion(), node: process.version, platform: process.platform, arch: arch(), os };
}

function message(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  return code !== undefined && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
}

/** Runs one check in a scope of its own, which is closed afterwards whatever happened. */
export async function runCheck(check: Check, loopback: Loopback): Promise<CheckResult> {
  const scope = new Scope(loopback);
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CheckFailed(`no result after ${check.timeoutMs / 1000} s`)), check.timeoutMs);
  });
  const running = check.run(scope);
  // After a timeout or a socket error, the check may still fail later: nobody is listening then.
  running.catch(() => {});
  let result: CheckResult;
  try {
    const outcome = await Promise.race([running, scope.failure, timedOut]);
    result = { name: check.name, ok: true, figure: outcome.figure, ms: roundMs(performance.now() - started) };
    if (outcome.details !== undefined) result.details = outcome.details;
  } catch (error) {
    result = {
      name: check.name,
      ok: false,
      figure: error instanceof CheckFailed && error.figure !== '' ? error.figure : '-',
      error: message(error),
      ms: roundMs(performance.now() - started),
    };
    if (error instanceof CheckFailed && error.details !== undefined) result.details = error.details;
  } finally {
    clearTimeout(timer);
  }
  await scope.dispose();
  return result;
}

export interface SelftestOptions {
  /** Called as each check finishes (a progress line on a terminal). */
  onCheck?: (result: CheckResult) => void;
}

/** Runs every check over this machine's loopback, or reports why it cannot. */
export async function runSelftest(options: SelftestOptions = {}): Promise<SelftestReport> {
  const environment = describeEnvironment();
  const probe = findLoopback();
  if ('unavailable' in probe) {
    return { ...environment, verdict: 'unavailable', family: probe.family, loopback: null, unavailable: probe.unavailable, checks: [] };
  }
  const { loopback } = probe;
  const checks: CheckResult[] = [];
  for (const check of CHECKS) {
    const result = await runCheck(check, loopback);
    checks.push(result);
    options.onCheck?.(result);
  }
  return { ...environment, verdict: verdictOf(checks, undefined), family: loopback.family, loopback: loopback.label, checks };
}
