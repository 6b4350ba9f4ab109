// The installed package's version, for `hvsock --version` and doctor.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../transport/native.js';

/** package.json's version, or 'unknown' if it cannot be read. */
export function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
