// The code blocks and links of the documentation (README.md, CONTRIBUTING.md,
// CHANGELOG.md, docs/*.md), read the way GitHub renders them. Each fenced
// block must follow a `<!-- snippet: KIND ARGS -->` comment saying how a test
// checks it (CONTRIBUTING.md, "Code blocks in the docs"): the unit test
// (test/unit/docs/snippets.test.ts) checks most kinds, the vsock suite runs
// the `run` blocks (test/vm/docs-snippets.test.ts).
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

export const ROOT = join(__dirname, '..', '..');

/** The documentation files, relative to the repository's root. */
export function docFiles(): string[] {
  const docs = readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`);
  return ['README.md', 'CONTRIBUTING.md', 'CHANGELOG.md', ...docs];
}

export interface Block {
  /** Where it is: `docs/http.md:13` (the line of its opening fence). */
  where: string;
  file: string;
  /** The fence's language (`js`, `sh`, …), '' for none. */
  lang: string;
  /** The snippet comment's words: ['run', 'http-agent'], ['cli', 'linux']; [] when it has none. */
  snippet: string[];
  code: string;
}

const SNIPPET = /^<!--\s*snippet:\s*(.*?)\s*-->$/;

/** Every fenced block of `file`, with the snippet comment on the last non-blank line before it. */
export function blocksOf(file: string): Block[] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)/.exec(lines[i] as string);
    if (open === null) continue;
    const [, indent = '', fence = '', lang = ''] = open;
    let end = i + 1;
    while (end < lines.length && (lines[end] as string).trim() !== fence) end++;
    let before = i - 1;
    while (before >= 0 && (lines[before] as string).trim() === '') before--;
    const comment = before >= 0 ? SNIPPET.exec((lines[before] as string).trim()) : null;
    const code = lines
      .slice(i + 1, end)
      .map((line) => (line.startsWith(indent) ? line.slice(indent.length) : line))
      .join('\n');
    blocks.push({ where: `${file}:${i + 1}`, file, lang, snippet: comment ? (comment[1] as string).split(/\s+/) : [], code: `${code}\n` });
    i = end;
  }
  return blocks;
}

export function allBlocks(): Block[] {
  return docFiles().flatMap(blocksOf);
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, each space a hyphen. */
export function slug(heading: string): string {
  return heading
    .replace(/`/g, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors of a Markdown file's headings (a repeated heading gets -1, -2, as on GitHub). */
export function anchorsOf(file: string): Set<string> {
  const anchors = new Set<string>();
  let inFence = false;
  for (const line of readFileSync(join(ROOT, file), 'utf8').split('\n')) {
    if (/^\s*(`{3,}|~{3,})/.test(line)) inFence = !inFence;
    const heading = inFence ? null : /^#{1,6}\s+(.*?)\s*#*$/.exec(line);
    if (heading === null) continue;
    const base = slug(heading[1] as string);
    let anchor = base;
    for (let n = 1; anchors.has(anchor); n++) anchor = `${base}-${n}`;
    anchors.add(anchor);
  }
  return anchors;
}

export interface Link {
  where: string;
  /** The file the link points to, relative to the root; '' for an outside link. */
  file: string;
  anchor: string;
  text: string;
}

/** The relative links of `file` (outside code blocks and code spans). */
export function linksOf(file: string): Link[] {
  const links: Link[] = [];
  let inFence = false;
  readFileSync(join(ROOT, file), 'utf8')
    .split('\n')
    .forEach((line, index) => {
      if (/^\s*(`{3,}|~{3,})/.test(line)) inFence = !inFence;
      if (inFence) return;
      const prose = line.replace(/`[^`]*`/g, '');
      for (const match of prose.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = match[1] as string;
        if (/^[a-z]+:/i.test(target)) continue;
        const [path = '', anchor = ''] = target.split('#');
        const resolved = path === '' ? file : relative(ROOT, join(ROOT, file, '..', path));
        links.push({ where: `${file}:${index + 1}`, file: resolved, anchor, text: target });
      }
    });
  return links;
}
