// The tree is the architecture: layers in folders, dependencies one way,
// downwards, and no import cycles (type-only imports count: a cycle of types
// is still two modules that cannot be read apart).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(__dirname, '..', '..', 'src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

/** src-relative module → the src-relative modules it imports (value and type imports, re-exports). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sources(SRC)) {
    const text = readFileSync(file, 'utf8');
    const deps = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)\.js'/g)].map((m) =>
      relative(SRC, normalize(join(dirname(file), m[1] as string))) + '.ts',
    );
    graph.set(relative(SRC, file), [...new Set(deps)]);
  }
  return graph;
}

function findCycle(graph: Map<string, string[]>): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (node: string): string[] | null => {
    if (state.get(node) === 'done') return null;
    if (state.get(node) === 'open') return [...path.slice(path.indexOf(node)), node];
    state.set(node, 'open');
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle !== null) return cycle;
    }
    path.pop();
    state.set(node, 'done');
    return null;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node);
    if (cycle !== null) return cycle;
  }
  return null;
}

/** What each layer may import, besides itself. Everything above a layer may import it. */
const MAY_IMPORT: Record<string, string[]> = {
  errors: [],
  address: ['errors'],
  transport: ['address', 'errors'],
  host: ['transport', 'address', 'errors'],
  // Server.listen({ wsl: true }) looks WSL's VM up through host/wsl.
  net: ['host', 'transport', 'address', 'errors'],
  selftest: ['net', 'transport', 'address', 'errors'],
  // A forward joins sockets of both kinds and looks VMs up by name.
  forward: ['net', 'host', 'transport', 'address', 'errors'],
  // HTTP clients dial as a forward's target is dialed.
  http: ['forward', 'net', 'host', 'transport', 'address', 'errors'],
  cli: ['forward', 'selftest', 'net', 'host', 'transport', 'address', 'errors', '.'],
  '.': ['net', 'transport', 'address', 'errors'],
};

function layerOf(module: string): string {
  return module.includes('/') ? (module.split('/')[0] as string) : '.';
}

describe('the source tree', () => {
  const graph = importGraph();

  it('has every module in a known layer', () => {
    for (const module of graph.keys()) expect(Object.keys(MAY_IMPORT), module).toContain(layerOf(module));
  });

  it('has no import cycles', () => {
    expect(findCycle(graph)).toBeNull();
  });

  it('has dependencies that run one way: cli → host, net → transport → address → errors', () => {
    const wrong: string[] = [];
    for (const [module, deps] of graph) {
      const layer = layerOf(module);
      for (const dep of deps) {
        const target = layerOf(dep);
        if (target !== layer && !(MAY_IMPORT[layer] ?? []).includes(target)) wrong.push(`${module} → ${dep}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('has unit tests that mirror it: each folder of test/unit is a layer of src (or docs/, the documentation\'s checks)', () => {
    const UNIT = join(__dirname);
    const layers = [...readdirSync(SRC, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name), 'docs'];
    const folders = readdirSync(UNIT, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    expect(folders.filter((folder) => !layers.includes(folder))).toEqual([]);
    // Every layer with logic of its own has tests in its folder.
    for (const layer of ['address', 'errors', 'transport', 'net', 'host', 'selftest', 'forward', 'http', 'cli']) {
      expect(folders, layer).toContain(layer);
      expect(sources(join(UNIT, layer)).length, layer).toBeGreaterThan(0);
    }
  });

  it('finds a cycle when there is one (the check itself works)', () => {
    const cyclic = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
    ]);
    expect(findCycle(cyclic)).toEqual(['a.ts', 'b.ts', 'c.ts', 'a.ts']);
  });
});
