// Every export of both entries (hvsock, hvsock/host) says what it is: the
// doc comment an editor shows on hover, read the way the editor reads it,
// through the TypeScript compiler's own symbol table (re-exports followed to
// the declaration they name).
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { projectOptions, ROOT } from '../support/typescript-project.js';

const ENTRIES = ['src/index.ts', 'src/host/index.ts'];

/** The names `entry` exports whose declarations carry no doc comment. */
function undocumentedExports(program: ts.Program, entry: string): string[] {
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(entry);
  if (source === undefined) throw new Error(`${entry} is not in the program`);
  const module = checker.getSymbolAtLocation(source);
  if (module === undefined) throw new Error(`${entry} is not a module`);
  const exports = checker.getExportsOfModule(module);
  expect(exports.length, `${entry} exports nothing`).toBeGreaterThan(0);
  return exports
    .filter((symbol) => {
      const declared = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
      return ts.displayPartsToString(declared.getDocumentationComment(checker)).trim() === '';
    })
    .map((symbol) => symbol.name)
    .sort();
}

describe('the exported API', () => {
  const program = ts.createProgram(
    ENTRIES.map((entry) => join(ROOT, entry)),
    projectOptions(),
  );

  for (const entry of ENTRIES) {
    it(`${entry}: every export has a doc comment`, () => {
      expect(undocumentedExports(program, join(ROOT, entry))).toEqual([]);
    });
  }

  it('finds an export without one (the check itself works)', () => {
    const files: Record<string, string> = {
      '/virtual/entry.ts': "export { documented, bare } from './lib.js';\nexport const inline = 1;\n",
      '/virtual/lib.ts': '/** Says what it is. */\nexport const documented = 1;\n// A line comment is not a doc comment.\nexport function bare(): void {}\n',
    };
    const host = ts.createCompilerHost({});
    const readFile = host.readFile.bind(host);
    const getSourceFile = host.getSourceFile.bind(host);
    host.fileExists = (file) => file in files || ts.sys.fileExists(file);
    host.directoryExists = (dir) => dir === '/virtual' || ts.sys.directoryExists(dir);
    host.readFile = (file) => files[file] ?? readFile(file);
    host.getSourceFile = (file, language) =>
      file in files ? ts.createSourceFile(file, files[file] as string, language) : getSourceFile(file, language);
    // No default library and no @types: the symbols are all this needs, and it stays fast.
    const virtual = ts.createProgram(['/virtual/entry.ts'], { module: ts.ModuleKind.Node16, noEmit: true, noLib: true, types: [] }, host);
    expect(undocumentedExports(virtual, '/virtual/entry.ts')).toEqual(['bare', 'inline']);
  });
});
