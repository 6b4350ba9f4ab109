// What a prebuilt binary asks of the machine that loads it: for an ELF file
// the newest GLIBC_ and GLIBCXX_ symbol versions and the shared libraries it
// needs; for a Windows DLL the DLLs it imports. Read with binutils' objdump
// (the cross variant for other architectures). Used by the prebuild report
// and by the distribution tests that hold the floor.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

const OBJDUMP_BY_MACHINE = new Map([
  [0x3e, 'objdump'], // x86-64
  [0xb7, 'aarch64-linux-gnu-objdump'], // AArch64
]);

function objdump(tool, args, file) {
  const r = spawnSync(tool, [...args, file], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error || r.status !== 0) throw new Error(`${tool} ${args.join(' ')} ${file} failed: ${r.error?.message ?? r.stderr}`);
  return r.stdout;
}

/** Compares dotted versions numerically: "2.28" < "2.3" is false. */
export function compareVersions(a, b) {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function newest(versions) {
  return versions.sort(compareVersions).at(-1) ?? null;
}

/**
 * { format, glibc, glibcxx, libraries, needs } for a .node file; `needs` is a
 * one-line summary ("glibc 2.28, GLIBCXX 3.4.21" or "KERNEL32 msvcrt WS2_32").
 */
export function binaryFloor(file) {
  const head = Buffer.alloc(20);
  const fd = fs.openSync(file, 'r');
  fs.readSync(fd, head, 0, head.length, 0);
  fs.closeSync(fd);
  if (head.toString('latin1', 0, 2) === 'MZ') {
    const dump = objdump('x86_64-w64-mingw32-objdump', ['-p'], file);
    const libraries = [...dump.matchAll(/DLL Name: (\S+)/g)].map((m) => m[1]).sort();
    return { format: 'pe', glibc: null, glibcxx: null, libraries, needs: libraries.join(' ') };
  }
  if (head.toString('latin1', 1, 4) !== 'ELF') throw new Error(`${file} is neither ELF nor PE`);
  const tool = OBJDUMP_BY_MACHINE.get(head.readUInt16LE(18));
  if (tool === undefined) throw new Error(`${file}: no objdump known for ELF machine ${head.readUInt16LE(18)}`);
  const symbols = objdump(tool, ['-T'], file);
  const glibc = newest([...symbols.matchAll(/\(GLIBC_(\d+(?:\.\d+)*)\)/g)].map((m) => m[1]));
  const glibcxx = newest([...symbols.matchAll(/\(GLIBCXX_(\d+(?:\.\d+)*)\)/g)].map((m) => m[1]));
  const libraries = [...objdump(tool, ['-p'], file).matchAll(/NEEDED\s+(\S+)/g)].map((m) => m[1]).sort();
  const needs = [glibc && `glibc ${glibc}`, glibcxx && `GLIBCXX ${glibcxx}`].filter(Boolean).join(', ');
  return { format: 'elf', glibc, glibcxx, libraries, needs };
}
