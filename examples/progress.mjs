// A progress line for the file-transfer examples, on stderr: redrawn in place
// on a terminal, a line at 0, 25, 50 and 75 % otherwise (logs, pipes).
//
// It says 100 % only when told the transfer is complete (finish()), never
// because every byte was handed to the socket: bytes in the socket's buffers
// have not arrived yet. After stop() (a failure) it prints nothing more, so
// the error line is the last thing a reader sees.
export function progress(label, total) {
  const started = Date.now();
  let done = 0;
  let shownStep = -1;
  let over = false;
  const line = (finished) => {
    const seconds = Math.max((Date.now() - started) / 1000, 0.001);
    const fraction = total > 0 ? done / total : 1;
    const percent = finished ? 100 : Math.min(Math.floor(fraction * 100), 99);
    const mib = (bytes) => (bytes / 1048576).toFixed(1);
    return `${label}: ${percent}% ${mib(done)}/${mib(total)} MiB ${mib(done / seconds)} MiB/s`;
  };
  const tty = process.stderr.isTTY;
  return {
    add(bytes) {
      done += bytes;
      if (over) return;
      if (tty) {
        process.stderr.write(`\r${line(false)}`);
        return;
      }
      const step = Math.min(total > 0 ? Math.floor((done / total) * 4) : 0, 3);
      if (step !== shownStep) {
        shownStep = step;
        process.stderr.write(`${line(false)}\n`);
      }
    },
    /** The other side has it all: the one line that says 100 %. */
    finish() {
      if (over) return;
      over = true;
      process.stderr.write(tty ? `\r${line(true)}\n` : `${line(true)}\n`);
    },
    /** A failure: end a redrawn line so the error starts on its own, and print nothing more. */
    stop() {
      if (over) return;
      over = true;
      if (tty && done > 0) process.stderr.write('\n');
    },
  };
}
