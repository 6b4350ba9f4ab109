// The API reference cannot drift from the code: what an entry point exports
// must be named in its page, read from the source by the TypeScript compiler
// (re-exports followed to their declarations). The rules, kept simple:
// 1. Every export of an entry (a value or a type; the module is imported too,
//    so that its runtime exports are counted even if the compiler missed one)
//    is a code span in the entry's page: `name`, or one starting `name(`,
//    `name<` or `new name(`.
// 2. Every property of an exported interface or class (options, event maps,
//    event payloads, Forwarder's members) appears as a word inside some code
//    span of the page of the first entry that exports it (hvsock before the
//    others). Only properties declared in src/ count: those inherited from
//    Node's own types (http.AgentOptions, EventEmitter, Duplex) are Node's
//    to document; so do names starting with `_` (stream internals).
// 3. Every error code src/ creates is named in docs/api.md (its "Error
//    codes" table): each 'ERR_…' string literal (but a prefix given to
//    startsWith()), and each system code built by hvsock itself:
//    systemError(uvErrno('E…')) and `code: 'E…'`.
// A failure lists each missing name with the page it belongs in.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { projectOptions, ROOT } from '../../support/typescript-project.js';

const ENTRIES = [
  { entry: 'hvsock', source: 'src/index.ts', page: 'docs/api.md', load: () => import('../../../src/index.js') },
  { entry: 'hvsock/host', source: 'src/host/index.ts', page: 'docs/host.md', load: () => import('../../../src/host/index.js') },
  { entry: 'hvsock/forward', source: 'src/forward/index.ts', page: 'docs/forward.md', load: () => import('../../../src/forward/index.js') },
  { entry: 'hvsock/http', source: 'src/http/index.ts', page: 'docs/http.md', load: () => import('../../../src/http/index.js') },
];
const ERROR_PAGE = 'docs/api.md';
const SRC = join(ROOT, 'src');

/** The inline code spans of a Markdown page (fenced blocks left out). */
function codeSpans(markdown: string): string[] {
  const prose = markdown.replace(/^(\s*)(`{3,}|~{3,})[^\n]*\n[\s\S]*?^\1\2\s*$/gm, '');
  return [...prose.matchAll(/(`+)([\s\S]+?)\1/g)].map((m) => (m[2] as string).trim());
}

/** Rule 1: the name is a span, or a span starts with its call or construction. */
function namesExport(spans: string[], name: string): boolean {
  return spans.some((span) => span === name || span.startsWith(`${name}(`) || span.startsWith(`${name}<`) || span.startsWith(`new ${name}(`));
}

/** Rule 2: the key is a whole word inside some span (`'connect'`, `{ attempt, delay }`, `backlog` …). */
function namesKey(spans: string[], key: string): boolean {
  const word = new RegExp(`(^|[^\\w$])${key.replace(/\$/g, '\\$')}($|[^\\w$])`);
  return spans.some((span) => word.test(span));
}

const program = ts.createProgram(
  ENTRIES.map(({ source }) => join(ROOT, source)),
  projectOptions(),
);
const checker = program.getTypeChecker();

function resolved(symbol: ts.Symbol): ts.Symbol {
  return symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
}

/** What `source` exports, as the compiler sees it (values and types). */
function exportsOf(source: string): ts.Symbol[] {
  const file = program.getSourceFile(join(ROOT, source));
  const module = file === undefined ? undefined : checker.getSymbolAtLocation(file);
  if (module === undefined) throw new Error(`${source} is not a module of the program`);
  return checker.getExportsOfModule(module);
}

// The compiler writes paths with forward slashes, on Windows too.
const inSrc = (declaration: ts.Declaration): boolean => declaration.getSourceFile().fileName.startsWith(`${SRC.replace(/\\/g, '/')}/`);

/** Rule 2's keys of an exported interface or class: its properties declared in src/, public, not `_`-prefixed. */
function keysOf(symbol: ts.Symbol): string[] {
  const target = resolved(symbol);
  const isClass = (target.flags & ts.SymbolFlags.Class) !== 0;
  const isInterface = (target.flags & ts.SymbolFlags.Interface) !== 0;
  if (!isClass && !isInterface) return [];
  // A class's members are on its instance type; `Server` and `Socket` are the
  // classes (exported behind callable(), and as types of the same name).
  const type = checker.getDeclaredTypeOfSymbol(target);
  return checker
    .getPropertiesOfType(type)
    .filter((property) => (property.declarations ?? []).some(inSrc))
    .filter((property) => {
      const modifiers = ts.getCombinedModifierFlags(property.valueDeclaration ?? (property.declarations?.[0] as ts.Declaration));
      return !(modifiers & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected));
    })
    .map((property) => property.name)
    .filter((name) => !name.startsWith('_') && !name.startsWith('__@') && !name.startsWith('#'));
}

/** The declaration a runtime export of `Server`/`Socket` stands for: callable(Class) hides the class from the compiler. */
const CALLABLE_CLASSES: Record<string, string> = { Server: 'src/net/server.ts', Socket: 'src/net/socket.ts' };

function classSymbol(name: string, file: string): ts.Symbol | undefined {
  const source = program.getSourceFile(join(ROOT, file));
  const module = source === undefined ? undefined : checker.getSymbolAtLocation(source);
  return module === undefined ? undefined : checker.getExportsOfModule(module).find((symbol) => symbol.name === name);
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : name.endsWith('.ts') ? [path] : [];
  });
}

/** Rule 3: the error codes src/ creates. */
function errorCodesIn(text: string): string[] {
  const codes = new Set<string>();
  for (const m of text.matchAll(/(startsWith\(\s*)?'(ERR_[A-Z0-9_]+)'/g)) {
    if (m[1] === undefined) codes.add(m[2] as string);
  }
  for (const m of text.matchAll(/systemError\(\s*uvErrno\('(E[A-Z0-9]+)'\)/g)) codes.add(m[1] as string);
  for (const m of text.matchAll(/\bcode: '(E[A-Z0-9]+)'/g)) codes.add(m[1] as string);
  return [...codes];
}

const pageSpans = new Map<string, string[]>();
function spansOf(page: string): string[] {
  let spans = pageSpans.get(page);
  if (spans === undefined) {
    spans = codeSpans(readFileSync(join(ROOT, page), 'utf8'));
    pageSpans.set(page, spans);
  }
  return spans;
}

describe('the API reference (docs/api.md, host.md, forward.md, http.md)', () => {
  it('names every export of each entry point', async () => {
    const missing: string[] = [];
    for (const { entry, source, page, load } of ENTRIES) {
      const names = new Set([...exportsOf(source).map((symbol) => symbol.name), ...Object.keys(await load())]);
      names.delete('default');
      expect(names.size, `${entry} exports nothing`).toBeGreaterThan(0);
      for (const name of [...names].sort()) {
        if (!namesExport(spansOf(page), name)) missing.push(`${page}: ${name} (${entry})`);
      }
    }
    expect(missing, `exports missing from their page:\n${missing.join('\n')}`).toEqual([]);
  });

  it('names every option, event, event field and member of the exported interfaces and classes', () => {
    const missing: string[] = [];
    const seen = new Set<ts.Symbol>();
    for (const { entry, source, page } of ENTRIES) {
      for (const symbol of exportsOf(source)) {
        const callable = CALLABLE_CLASSES[symbol.name];
        const target = source === 'src/index.ts' && callable !== undefined ? classSymbol(symbol.name, callable) : resolved(symbol);
        if (target === undefined || seen.has(target)) continue;
        seen.add(target);
        for (const key of keysOf(target)) {
          if (!namesKey(spansOf(page), key)) missing.push(`${page}: ${symbol.name}.${key} (${entry})`);
        }
      }
    }
    expect(missing, `keys missing from their page:\n${missing.join('\n')}`).toEqual([]);
  });

  it(`names every error code src/ creates in ${ERROR_PAGE}`, () => {
    const codes = new Set(walk(SRC).flatMap((file) => errorCodesIn(readFileSync(file, 'utf8'))));
    expect(codes.size).toBeGreaterThan(10);
    const spans = spansOf(ERROR_PAGE);
    const missing = [...codes].sort().filter((code) => !namesKey(spans, code));
    expect(missing.map((code) => `${ERROR_PAGE}: ${code}`), `error codes missing from ${ERROR_PAGE}:\n${missing.join('\n')}`).toEqual([]);
  });

  it('the rules themselves work', () => {
    const spans = codeSpans('Use `forward(options)` or `new HvAgent({ target })`, the `Forwarder`.\n```js\nforgotten()\n```\n`{ attempt, delay }`');
    expect(namesExport(spans, 'forward')).toBe(true);
    expect(namesExport(spans, 'HvAgent')).toBe(true);
    expect(namesExport(spans, 'Forwarder')).toBe(true);
    expect(namesExport(spans, 'forgotten')).toBe(false);
    expect(namesExport(spans, 'Forward')).toBe(false);
    expect(namesKey(spans, 'delay')).toBe(true);
    expect(namesKey(spans, 'target')).toBe(true);
    expect(namesKey(spans, 'attempts')).toBe(false);
    expect(errorCodesIn("code === 'ERR_A' || code.startsWith('ERR_B'); systemError(uvErrno('ENOSYS'), 'x'); { code: 'EPIPE' }").sort()).toEqual([
      'ENOSYS',
      'EPIPE',
      'ERR_A',
    ]);
  });
});
