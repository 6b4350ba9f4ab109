// `hvsock selftest [--json]`: the checks of src/selftest over this machine's
// own loopback, printed as a table or as JSON for a bug report.
import { runSelftest } from '../selftest/run.js';
import { formatTable, type Verdict } from '../selftest/report.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_UNAVAILABLE } from './exit-codes.js';

/** 0 every check passed, 1 a check failed, 3 the checks cannot run on this machine. */
export function exitCodeOf(verdict: Verdict): number {
  if (verdict === 'pass') return EXIT_OK;
  if (verdict === 'unavailable') return EXIT_UNAVAILABLE;
  return EXIT_FAILURE;
}

export async function runSelftestCommand(json: boolean, out: (text: string) => void, progress?: (text: string) => void): Promise<number> {
  const report = await runSelftest({
    onCheck: progress === undefined ? undefined : (check) => progress(`hvsock selftest: ${check.name}: ${check.ok ? 'ok' : 'FAILED'}`),
  });
  out(json ? JSON.stringify(report, null, 2) : formatTable(report));
  return exitCodeOf(report.verdict);
}
