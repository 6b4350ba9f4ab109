// `hvsock forward --config forwards.json`: the file is forward()'s options
// as JSON, one object per rule under "forwards":
//   { "forwards": [ { "name": "ssh", "listen": "tcp:2222", "target": "vm:MyVM:22" } ] }
// Times are milliseconds, as in the API. Every rule is checked before any
// listens; an error names the rule and the field. Nothing in the file is
// ever run or passed to a shell: ends are addresses, names are looked up
// with fixed commands (src/host/system-programs.ts).
import type { AddressPlatform } from '../address/address.js';
import { readForwardOptions, type ForwardOptions, type ForwardRule } from './options.js';

/** A config file that cannot be used: `message` names the file, the rule and the field. */
export class ForwardConfigError extends Error {
  readonly code = 'ERR_INVALID_ARG_VALUE';
  constructor(message: string) {
    super(message);
    this.name = 'ForwardConfigError';
  }
}

/** The rule as a message names it: 'rule 2 ("ssh")', or 'rule 2' without a name. */
function ruleLabel(index: number, rule: unknown): string {
  const name = rule !== null && typeof rule === 'object' ? (rule as { name?: unknown }).name : undefined;
  return typeof name === 'string' ? `rule ${index + 1} ("${name}")` : `rule ${index + 1}`;
}

/** "The property 'forwards[2].allow' is not a peer … Received 'x'" → '"allow" is not a peer … (got 'x')'; elsewhere "forwards[2]." goes. */
function fieldProblem(message: string, index: number): string {
  const prefix = `forwards[${index}].`;
  return message
    .replace(/^The (?:property|argument) '([^']+)' (.*?)\.? Received (.*)$/s, (_, field: string, reason: string, got: string) => `"${field.replace(prefix, '')}" ${reason} (got ${got})`)
    .replace(new RegExp(`^${prefix.replace(/[[\].]/g, '\\$&')}(\\S+) is required`), '"$1" is required')
    // The other forms (out of range, wrong type) name the field as the API saw it: "forwards[2].maxConnections".
    .split(prefix)
    .join('');
}

/** Where a listen end binds, for "two rules listen on the same end". */
function listenKey(rule: ForwardRule): string {
  const end = rule.listen;
  if (end.kind === 'tcp') return `tcp:${end.host}:${end.port}`;
  if (end.kind === 'hvsock') return `hvsock:${JSON.stringify(end.address)}`;
  return `${end.kind}:${'path' in end ? end.path : end.text}`;
}

/**
 * Reads a config file's text into checked options, one per rule. `file` is
 * the path as messages show it. Throws ForwardConfigError.
 */
export function readForwardConfig(text: string, file: string, platform: AddressPlatform | undefined): { options: ForwardOptions[]; rules: ForwardRule[] } {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new ForwardConfigError(`${file}: not JSON: ${(error as Error).message}`);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ForwardConfigError(`${file}: must be an object with a "forwards" array, e.g. {"forwards": [{"listen": "tcp:2222", "target": "parent:22"}]}`);
  }
  const stray = Object.keys(data).find((key) => key !== 'forwards' && key !== '$schema');
  if (stray !== undefined) throw new ForwardConfigError(`${file}: "${stray}" is not a setting: the file has one, "forwards"`);
  const forwards = (data as { forwards?: unknown }).forwards;
  if (!Array.isArray(forwards) || forwards.length === 0) {
    throw new ForwardConfigError(`${file}: "forwards" must be a non-empty array of rules, each {"listen": ..., "target": ...}`);
  }
  const rules: ForwardRule[] = [];
  const names = new Map<string, number>();
  const listens = new Map<string, number>();
  forwards.forEach((entry, index) => {
    const label = ruleLabel(index, entry);
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
      throw new ForwardConfigError(`${file}: ${label}: must be an object, {"listen": ..., "target": ...}`);
    }
    if (entry !== null && typeof entry === 'object' && 'lookups' in entry) {
      throw new ForwardConfigError(`${file}: ${label}: "lookups" is an API option (functions), not a setting a file can hold`);
    }
    let rule: ForwardRule;
    try {
      rule = readForwardOptions(entry, `forwards[${index}]`, platform);
    } catch (error) {
      throw new ForwardConfigError(`${file}: ${label}: ${fieldProblem((error as Error).message, index)}`);
    }
    const sameName = names.get(rule.name);
    if (sameName !== undefined) throw new ForwardConfigError(`${file}: ${label}: the name "${rule.name}" is rule ${sameName + 1}'s too; names must differ`);
    names.set(rule.name, index);
    // tcp:0 (or tcp:HOST:0) is a port the system picks for each listener: two of them never collide.
    if (rule.listen.kind !== 'tcp' || rule.listen.port !== 0) {
      const key = listenKey(rule);
      const sameListen = listens.get(key);
      if (sameListen !== undefined) throw new ForwardConfigError(`${file}: ${label}: listens on ${rule.listen.text}, as rule ${sameListen + 1} does`);
      listens.set(key, index);
    }
    rules.push(rule);
  });
  return { options: forwards as ForwardOptions[], rules };
}
