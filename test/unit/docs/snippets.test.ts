// The documentation's code blocks and links cannot rot unseen. Every fenced
// block carries a snippet comment (CONTRIBUTING.md, "Code blocks in the
// docs"), and here each kind is checked except `run`, whose blocks the vsock
// suite runs in the guest (test/vm/docs-snippets.test.ts):
// - `cli linux` / `cli win32`: each `hvsock` command in the block is checked
//   by the CLI itself for that OS (checkCommandLine: the same checks as a
//   real run, nothing run); `--config FILE` is read as the docs' own
//   `config forward` block;
// - `output`: a transcript; each `$ hvsock …` is run in-process (usage
//   errors only: nothing opens a socket) and must print the lines after it;
// - `config forward`: read by readForwardConfig() as `hvsock forward --config` reads it;
// - `covered FILE…`: the files that run it exist;
// - `illustration REASON`: a reason is given.
// And every relative link points to a file and a heading that exist.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkCommandLine, main } from '../../../src/cli/main.js';
import { readForwardConfig } from '../../../src/forward/config.js';
import { allBlocks, anchorsOf, docFiles, linksOf, ROOT, type Block } from '../../support/docs-blocks.js';

const KINDS = ['run', 'cli', 'output', 'config', 'covered', 'illustration'];
const blocks = allBlocks();
const ofKind = (kind: string): Block[] => blocks.filter((block) => block.snippet[0] === kind);

/** Splits a shell or PowerShell line into words: quotes group, a backslash is a plain character (Windows paths). */
function words(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => (m[1] ?? m[2] ?? m[3]) as string);
}

/** The hvsock command lines of a block: the words after `hvsock` in each command of each line, comments cut. */
function hvsockCommands(code: string): string[][] {
  const commands: string[][] = [];
  for (const raw of code.split('\n')) {
    const line = raw.replace(/(^|\s)#.*$/, '');
    for (const part of line.split(/\||&&|;/)) {
      const w = words(part);
      const at = w.findIndex((word) => word === 'hvsock' || word.endsWith('/hvsock'));
      if (at >= 0) commands.push(w.slice(at + 1));
    }
  }
  return commands;
}

/** The docs' forward config example, as a file, for commands that name one. */
function configFile(): string {
  const [config] = ofKind('config');
  const file = join(mkdtempSync(join(tmpdir(), 'hvsock-docs-')), 'forwards.json');
  writeFileSync(file, config?.code ?? '{}');
  return file;
}

describe('the code blocks of README.md, CONTRIBUTING.md, CHANGELOG.md and docs/', () => {
  it('are found, in every file', () => {
    expect(blocks.length).toBeGreaterThan(30);
  });

  it('each follows a snippet comment of a known kind', () => {
    const unmarked = blocks.filter((block) => !KINDS.includes(block.snippet[0] ?? '')).map((block) => block.where);
    expect(unmarked).toEqual([]);
  });

  it('cli: every hvsock command is one the CLI accepts on that OS', () => {
    const config = configFile();
    const failures: string[] = [];
    let checked = 0;
    for (const block of ofKind('cli')) {
      const platform = block.snippet[1];
      expect(['linux', 'win32'], `${block.where}: cli needs linux or win32`).toContain(platform);
      const commands = hvsockCommands(block.code);
      if (commands.length === 0) failures.push(`${block.where}: no hvsock command in a cli block`);
      for (const argv of commands) {
        const at = argv.indexOf('--config');
        if (at >= 0) argv[at + 1] = config;
        try {
          checkCommandLine(argv, platform as NodeJS.Platform);
          checked++;
        } catch (error) {
          failures.push(`${block.where}: hvsock ${argv.join(' ')}: ${(error as Error).message}`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(checked).toBeGreaterThan(10);
  });

  it('output: each transcript is what the CLI prints', async () => {
    const transcripts = ofKind('output');
    expect(transcripts.length).toBeGreaterThan(0);
    for (const block of transcripts) {
      const platform = (block.snippet[1] ?? 'linux') as NodeJS.Platform;
      const steps = block.code.trimEnd().split(/^\$ /m).filter((step) => step !== '');
      for (const step of steps) {
        const [command = '', ...expected] = step.replace(/\n$/, '').split('\n');
        const printed: string[] = [];
        const io = { out: (text: string) => printed.push(text), err: (text: string) => printed.push(text) };
        const code = await main(words(command).slice(1), io, { platform });
        expect({ where: block.where, command, printed: printed.join('\n').split('\n') }).toEqual({ where: block.where, command, printed: expected });
        expect(code, `${block.where}: ${command} must be a usage error (exit 2): transcripts run in-process`).toBe(2);
      }
    }
  });

  it('config forward: the example config is one hvsock forward --config reads', () => {
    const configs = ofKind('config');
    expect(configs.map((block) => block.snippet[1])).toEqual(['forward']);
    for (const block of configs) {
      for (const platform of ['win32', 'linux'] as const) {
        // vm: targets are Windows-only; the Linux reading must fail on exactly those.
        if (platform === 'linux') expect(() => readForwardConfig(block.code, block.where, platform)).toThrow(/vm:/);
        else expect(readForwardConfig(block.code, block.where, platform).options.length).toBeGreaterThan(0);
      }
    }
  });

  it('covered: the files named exist', () => {
    for (const block of ofKind('covered')) {
      expect(block.snippet.length, `${block.where}: covered names no file`).toBeGreaterThan(1);
      for (const file of block.snippet.slice(1)) expect(existsSync(join(ROOT, file)), `${block.where}: ${file}`).toBe(true);
    }
  });

  it('illustration: each says why it is not run', () => {
    for (const block of ofKind('illustration')) expect(block.snippet.length, block.where).toBeGreaterThan(2);
  });
});

describe('the links of the documentation', () => {
  it('point to files and headings that exist', () => {
    const broken: string[] = [];
    const anchors = new Map<string, Set<string>>();
    for (const file of docFiles()) {
      for (const link of linksOf(file)) {
        if (!existsSync(join(ROOT, link.file))) {
          broken.push(`${link.where}: ${link.text}: no such file`);
          continue;
        }
        if (link.anchor === '' || !link.file.endsWith('.md')) continue;
        if (!anchors.has(link.file)) anchors.set(link.file, anchorsOf(link.file));
        if (!anchors.get(link.file)?.has(link.anchor)) broken.push(`${link.where}: ${link.text}: no such heading`);
      }
    }
    expect(broken).toEqual([]);
  });
});
