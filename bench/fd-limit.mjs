// How many descriptors this process may open. Node raises its soft limit to
// the hard one when it starts, so the soft limit read here is the real cap.
// Windows (node.exe under Wine, bench/wine.mjs) has no such limit.
import { readFileSync } from 'node:fs';

export function openFileLimit() {
  if (process.platform === 'win32') return Infinity;
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'));
  const soft = line?.split(/\s{2,}/)[1];
  return soft === undefined || soft === 'unlimited' ? Infinity : Number(soft);
}

/** Idle connections to hold: as many as asked, unless the descriptor limit stops it (with room for the rest). */
export function idleCount(wanted) {
  return Math.max(0, Math.min(wanted, openFileLimit() - 64));
}
