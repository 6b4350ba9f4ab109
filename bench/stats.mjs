// Pure arithmetic and ordering for bench/run.mjs and bench/real-cpu.mjs,
// kept apart so a unit test can check it (test/unit/bench-stats.test.ts)
// without running a benchmark.

/** The median of a non-empty list of numbers (mean of the middle two for an even count). */
export function median(values) {
  if (values.length === 0) throw new RangeError('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * The order to run measurements in: round 1 runs every measurement with every
 * transport once, round 2 all of them again, and so on. Interleaving spreads
 * a slow phase of a shared machine over every transport instead of letting it
 * land on one, which is what keeps the ratios honest.
 */
export function interleavedSchedule(rounds, measurements, transports) {
  const schedule = [];
  for (let round = 1; round <= rounds; round++) {
    for (const measurement of measurements) {
      for (const transport of transports) schedule.push({ round, measurement, transport });
    }
  }
  return schedule;
}

/**
 * How many times better `value` is than `reference`, as text such as "1.25x";
 * for figures where lower is better (latency, memory) the quotient is turned
 * round, so above 1 always means better. "-" when either figure is missing.
 */
export function formatRatio(value, reference, higherIsBetter) {
  if (!(value > 0) || !(reference > 0)) return '-';
  const ratio = higherIsBetter ? value / reference : reference / value;
  return `${ratio.toFixed(2)}x`;
}

/** A figure with a fixed number of decimals, or "-" when it was not measured. */
export function formatFigure(value, digits) {
  return typeof value === 'number' && Number.isFinite(value) ? value.toFixed(digits) : '-';
}

/** Lines of a table: the first column left-aligned, the others right-aligned. */
export function formatTable(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  const line = (row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ').trimEnd();
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)];
}

/**
 * The median of the numbers in a list with the smallest and largest of them
 * (how far the rounds spread around the figure shown); entries that are not
 * numbers (a round that failed) are left out; undefined when none is left.
 */
export function spread(values) {
  const measured = values.filter((v) => typeof v === 'number');
  return measured.length === 0 ? undefined : { median: median(measured), min: Math.min(...measured), max: Math.max(...measured) };
}

/** A spread as text, "12.3 (10.1-14.2)" (with a unit: "1.02x (0.70-1.89)"), or "-" for none. */
export function formatSpread(s, digits, unit = '') {
  return s === undefined ? '-' : `${formatFigure(s.median, digits)}${unit} (${formatFigure(s.min, digits)}-${formatFigure(s.max, digits)})`;
}

/**
 * Each round's ratio of `values[i]` to `references[i]` (the same round, so
 * the same phase of a shared machine), turned round where lower is better as
 * formatRatio does; rounds where either figure is missing are left out.
 */
export function roundRatios(values, references, higherIsBetter) {
  const out = [];
  for (let i = 0; i < Math.min(values.length, references.length); i++) {
    const [v, r] = [values[i], references[i]];
    if (v > 0 && r > 0) out.push(higherIsBetter ? v / r : r / v);
  }
  return out;
}
