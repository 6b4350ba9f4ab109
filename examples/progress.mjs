// A progress line for the file-transfer examples: redrawn in place on a
// terminal, a few plain lines otherwise (logs, pipes).
export function progress(label, total) {
  const started = Date.now();
  let done = 0;
  let shown = -1;
  const line = () => {
    const seconds = Math.max((Date.now() - started) / 1000, 0.001);
    const percent = total > 0 ? Math.floor((done / total) * 100) : 100;
    return `${label}: ${percent}% ${(done / 1048576).toFixed(1)}/${(total / 1048576).toFixed(1)} MiB ${(done / 1048576 / seconds).toFixed(1)} MiB/s`;
  };
  const report = (bytes) => {
    done += bytes;
    if (process.stderr.isTTY) {
      process.stderr.write(`\r${line()}`);
      return;
    }
    const step = total > 0 ? Math.floor((done / total) * 4) : 4; // every 25 %
    if (step !== shown) {
      shown = step;
      process.stderr.write(`${line()}\n`);
    }
  };
  report.done = () => process.stderr.write(process.stderr.isTTY ? `\r${line()}\n` : `${line()}\n`);
  return report;
}
