// The TypeScript compiler set up as the package is built (tsconfig.json), for
// tests that read the source through the compiler's symbol table
// (test/unit/jsdoc.test.ts, test/unit/docs/api-reference.test.ts).
import { join } from 'node:path';
import ts from 'typescript';

export const ROOT = join(__dirname, '..', '..');

/** The compiler options the package is built with. */
export function projectOptions(): ts.CompilerOptions {
  const config = ts.getParsedCommandLineOfConfigFile(join(ROOT, 'tsconfig.json'), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
    },
  });
  if (config === undefined) throw new Error('tsconfig.json could not be read');
  return { ...config.options, noEmit: true };
}
