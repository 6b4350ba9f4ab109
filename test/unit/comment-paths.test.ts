// Every repository file a comment names exists: a comment that sends the
// reader to a file they cannot open is worse than none. The rules, kept
// simple on purpose:
//
// - Scanned: the comments (`// …` and `/* … */`) of the .ts/.mts/.cts/.js/
//   .mjs/.cjs/.cc/.h/.c files under src/, native/, test/ and scripts/
//   (node_modules, dist and build folders left out).
// - A path from the repository root (src/…, native/…, test/…, scripts/…,
//   docs/…, bench/…, examples/…, .github/…) must exist, and so must the
//   heading a `.md` path's `#anchor` names (as GitHub makes anchors: lower
//   case, spaces to hyphens, other punctuation dropped). src/ holds only
//   TypeScript, so a src/ path with another extension is another project's
//   (libuv's src/win/tcp.c) and is not checked.
// - A file name without its folder (wsl-listener.ts, fixtures/wsl-child.cjs),
//   with one of this repository's own extensions (.ts .mts .cts .mjs .cjs
//   .md), must be the end of some repository file's path. Headers and other
//   C names (hvsocket.h, af_vsock.c) are too often other projects' to check
//   without their folder.
// - Another project's file is written `project:path` (libuv:src/win/tcp.c,
//   microsoft/WSL:src/linux/init/wslinfo.cpp) or as a URL: a path right after
//   `:` or `/` is not checked.
// A failure lists file:line and the name that does not exist.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { anchorsOf, ROOT, slug } from '../support/docs-blocks.js';

const SCANNED = ['src', 'native', 'test', 'scripts'];
const SKIPPED = new Set(['node_modules', 'dist', 'build', 'build-sanitize', 'prebuilds']);
const COMMENTED = /\.(?:ts|mts|cts|js|mjs|cjs|cc|h|c)$/;
const ROOT_FOLDERS = ['src', 'native', 'test', 'scripts', 'docs', 'bench', 'examples', '.github'];
const OWN_EXTENSIONS = ['ts', 'mts', 'cts', 'mjs', 'cjs', 'md'];

/** Repository-relative paths (with `/`) of the files under `dir`. */
function files(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    if (SKIPPED.has(entry.name)) return [];
    const path = `${dir}/${entry.name}`;
    return entry.isDirectory() ? files(path) : [path];
  });
}

/** The comment text of each line of a C-family or JavaScript source, as [line number, text]. */
function comments(source: string): Array<[number, string]> {
  const found: Array<[number, string]> = [];
  let inBlock = false;
  source.split('\n').forEach((line, index) => {
    let rest = line;
    while (rest.length > 0) {
      if (inBlock) {
        const end = rest.indexOf('*/');
        found.push([index + 1, end < 0 ? rest : rest.slice(0, end)]);
        if (end < 0) return;
        inBlock = false;
        rest = rest.slice(end + 2);
        continue;
      }
      // `//` that is not a URL's `://`.
      const lineComment = /(?<!:)\/\//.exec(rest);
      const block = rest.indexOf('/*');
      if (block >= 0 && (lineComment === null || block < lineComment.index)) {
        inBlock = true;
        rest = rest.slice(block + 2);
        continue;
      }
      if (lineComment !== null) found.push([index + 1, rest.slice(lineComment.index + 2)]);
      return;
    }
  });
  return found;
}

/** The file names a comment's text mentions (see the rules above), without those of other projects. */
function namedPaths(text: string): string[] {
  const names: string[] = [];
  const token = /(?<![\w.@/:*-])(\w[\w.@-]*(?:\/[\w.@-]+)*\.(\w+))(?![\w/-])(#[\w-]+)?/g;
  for (const match of text.matchAll(token)) {
    const [, name, extension, anchor = ''] = match as unknown as [string, string, string, string?];
    const folder = name.split('/')[0] as string;
    if (ROOT_FOLDERS.includes(folder)) {
      if (folder !== 'src' || extension === 'ts') names.push(extension === 'md' ? name + anchor : name);
    } else if (folder !== 'node_modules' && OWN_EXTENSIONS.includes(extension)) {
      names.push(name);
    }
  }
  return names;
}

describe('comments name files that exist', () => {
  const repository = [...ROOT_FOLDERS.filter((dir) => existsSync(join(ROOT, dir))).flatMap(files), ...readdirSync(ROOT)];
  const exists = (named: string): boolean => {
    const [name = '', anchor] = named.split('#');
    if (!ROOT_FOLDERS.includes(name.split('/')[0] as string)) return repository.some((path) => path === name || path.endsWith(`/${name}`));
    if (!repository.includes(name)) return false;
    return anchor === undefined || anchorsOf(name).has(anchor);
  };
  const scanned = SCANNED.flatMap(files).filter((path) => COMMENTED.test(path));
  const missing: string[] = [];
  for (const path of scanned) {
    for (const [line, text] of comments(readFileSync(join(ROOT, path.split('/').join(sep)), 'utf8'))) {
      for (const name of namedPaths(text)) {
        if (!exists(name)) missing.push(`${path}:${line}: ${name}`);
      }
    }
  }

  it('scans the sources (the walk itself works)', () => {
    expect(scanned).toContain('src/net/socket.ts');
    expect(scanned.some((path) => path.startsWith('native/'))).toBe(true);
    expect(scanned.filter((path) => path.split('/').some((part) => SKIPPED.has(part)))).toEqual([]);
  });

  it('finds no comment naming a missing file', () => {
    expect(missing).toEqual([]);
  });

  it('reads comments and names as the rules say', () => {
    // Built from parts, so that this file's own comments are not these.
    const [line, open, close] = ['/' + '/', '/' + '*', '*' + '/'];
    const source = [
      `const url = "https://example.com/a.ts"; ${line} see src/net/socket.ts`,
      `${open} block: wsl-listener.ts`,
      ` * libuv:src/win/tcp.c and src/win/tcp.c, hvsocket.h, *.test.ts ${close} code(); ${line} docs/x.md#anchor`,
    ].join('\n');
    const found = comments(source).map(([line, text]) => [line, namedPaths(text)]);
    expect(found).toEqual([
      [1, ['src/net/socket.ts']],
      [2, ['wsl-listener.ts']],
      [3, []],
      [3, ['docs/x.md#anchor']],
    ]);
    expect(namedPaths('microsoft/WSL:src/linux/init/wslinfo.cpp, https://github.com/o/r/blob/main/src/a.ts')).toEqual([]);
    expect(namedPaths('(fixtures/wsl-child.cjs), README.md.')).toEqual(['fixtures/wsl-child.cjs', 'README.md']);
    expect(['Title', 'WSL 2', 'Errors, and codes'].map(slug)).toEqual(['title', 'wsl-2', 'errors-and-codes']);
  });
});
