// What `hvsock selftest` reports, and how: the result types, the verdict and
// the plain-text table. Pure, so the rules are unit-tested on recorded
// results without opening a socket.

/** One check's outcome: a figure that says what was measured, and the error when it failed. */
export interface CheckResult {
  name: string;
  ok: boolean;
  /** What was seen: a time, a rate, a count, addresses. Present also when the check failed, as far as it got. */
  figure: string;
  /** Why the check failed (absent when ok). */
  error?: string;
  /** Wall-clock time the check took, in milliseconds. */
  ms: number;
  /** Machine-readable details for a bug report (addresses, codes, option values). */
  details?: Record<string, unknown>;
}

/** Where the self-test ran. */
export interface SelftestEnvironment {
  hvsock: string;
  node: string;
  platform: NodeJS.Platform;
  arch: string;
  os: {
    type: string;
    release: string;
    /** os.version(): the OS's own description ("Windows Server 2022 Datacenter", "#1 SMP Debian …"). */
    version: string;
    /** Windows: the build number (the third part of the release, 20348 for 10.0.20348). */
    build?: number;
  };
}

export type Verdict = 'pass' | 'fail' | 'unavailable';

export interface SelftestReport extends SelftestEnvironment {
  verdict: Verdict;
  /** The socket family the checks used, or null when none could be opened. */
  family: 'AF_VSOCK' | 'AF_HYPERV' | null;
  /** The loopback the checks talked over ("CID 1", "HV_GUID_LOOPBACK"), or null when unavailable. */
  loopback: string | null;
  /** Why the checks could not run here (set only when the verdict is 'unavailable'). */
  unavailable?: string;
  checks: CheckResult[];
}

/** 'unavailable' when the checks could not run; otherwise 'pass' only if every check passed. */
export function verdictOf(checks: readonly CheckResult[], unavailable: string | undefined): Verdict {
  if (unavailable !== undefined) return 'unavailable';
  // No checks at all is not a pass: something stopped the run before it began.
  return checks.length > 0 && checks.every((check) => check.ok) ? 'pass' : 'fail';
}

/** A measurement kept to what it can mean: milliseconds to the microsecond. */
export function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** A duration as people read it: 0.42 ms, 35 ms, 12.3 s. */
export function formatMs(ms: number): string {
  return ms < 10 ? `${ms.toFixed(2)} ms` : ms < 10_000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** Pads each column to its widest cell; the last column is not padded. */
function columns(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length))) ?? [];
  return rows.map((row) =>
    row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd(),
  );
}

/** The report as people read it: a header, one row per check (check, result, figure), the verdict. */
export function formatTable(report: SelftestReport): string {
  const build = report.os.build === undefined ? '' : `, build ${report.os.build}`;
  const lines = [
    `hvsock ${report.hvsock} on Node ${report.node}, ${report.platform} ${report.os.release}${build} (${report.arch})`,
    `os: ${report.os.version}`,
  ];
  if (report.verdict === 'unavailable') {
    lines.push('', `unavailable: ${report.unavailable ?? 'unknown reason'}`, '', 'verdict: unavailable (exit 3): nothing was connected');
    return lines.join('\n');
  }
  lines.push(`loopback: ${report.family ?? 'none'} ${report.loopback ?? ''}`.trimEnd(), '');
  const rows = [['check', 'result', 'figure'], ...report.checks.map((c) => [c.name, c.ok ? 'ok' : 'FAILED', c.figure])];
  lines.push(...columns(rows));
  const failed = report.checks.filter((c) => !c.ok);
  if (failed.length > 0) {
    lines.push('');
    for (const c of failed) lines.push(`${c.name}: ${c.error ?? 'failed'}`);
  }
  const total = report.checks.reduce((sum, c) => sum + c.ms, 0);
  lines.push(
    '',
    report.verdict === 'pass'
      ? `verdict: pass, ${report.checks.length} of ${report.checks.length} checks in ${formatMs(total)}`
      : `verdict: FAILED, ${failed.length} of ${report.checks.length} checks failed`,
  );
  return lines.join('\n');
}
