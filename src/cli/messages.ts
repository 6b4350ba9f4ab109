// The library's errors retold in the CLI's words. The API names what a
// program passed ("The property 'options.vmId' …"); a shell user typed text,
// so the CLI names that text instead, in one line, without a stack.
import { UsageError } from './usage.js';

export interface ArgProblem {
  /** The argument or property the API names: 'address', 'address.vmId'. */
  name: string;
  /** What is wrong with it, from the API's own message: 'is a listen wildcard, not a connect target'. */
  problem: string;
  /** The value as the API shows it ('MyVM'), when it shows one. */
  received?: string;
}

/**
 * Takes apart Node's wording of a bad argument (ERR_INVALID_ARG_VALUE,
 * ERR_INVALID_ARG_TYPE, ERR_OUT_OF_RANGE), which hvsock's errors copy;
 * undefined for any other error.
 */
export function argProblem(error: unknown): ArgProblem | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !(code.startsWith('ERR_INVALID_ARG') || code === 'ERR_OUT_OF_RANGE')) return undefined;
  const message = String((error as Error).message);
  let match = /^The (?:argument|property) '([^']+)' ([\s\S]*)\. Received ([\s\S]*)$/.exec(message);
  if (match !== null) return { name: match[1] as string, problem: match[2] as string, received: match[3] as string };
  match = /^The value of "([^"]+)" is out of range\. It must be ([\s\S]*)\. Received ([\s\S]*)$/.exec(message);
  if (match !== null) {
    const range = (match[2] as string).replace(/^>= (\S+) && <= (\S+)$/, 'from $1 to $2');
    return { name: match[1] as string, problem: `is out of range: it must be ${range}`, received: match[3] as string };
  }
  match = /^The "?([^"]+?)"? (?:argument|property) (must be [\s\S]*)\. Received ([\s\S]*)$/.exec(message);
  if (match !== null) return { name: match[1] as string, problem: match[2] as string, received: match[3] as string };
  return undefined;
}

/**
 * A system error's own explanation without the system call it came from:
 * "RegCreateKeyExW EPERM: writing … needs an elevated process" → "writing …
 * needs an elevated process (EPERM)". The message as it is when it has none.
 */
export function withoutSyscall(error: unknown): string {
  const { message, syscall, code } = error as { message?: unknown; syscall?: unknown; code?: unknown };
  const text = String(message);
  if (typeof syscall !== 'string' || typeof code !== 'string') return text;
  const head = `${syscall} ${code}: `;
  return text.startsWith(head) ? `${text.slice(head.length)} (${code})` : text;
}

/** What an address the user typed is wrong with, as a UsageError; other errors as they are. */
export function addressError(error: unknown, text: string, command: string): unknown {
  const found = argProblem(error);
  if (found === undefined) return error;
  const colon = text.lastIndexOf(':');
  const machine = colon === -1 ? undefined : text.slice(0, colon);
  const service = text.slice(colon + 1);
  const part = found.name.split('.')[1];
  let subject = `address "${text}"`;
  if (part === 'cid' || part === 'vmId') subject += machine === undefined ? ': its machine' : `: machine "${machine}"`;
  else if (part === 'port' || part === 'serviceId') subject += `: service "${service}"`;
  else if (part !== undefined) subject += ':';
  return new UsageError(`${subject} ${found.problem}`, command);
}

/** One line for a failure the command could not turn into its own words. */
export function failureText(error: unknown): string {
  if (error instanceof UsageError) return error.message;
  const found = argProblem(error);
  // The value the user gave, not the API's name for it.
  const text = found === undefined ? String((error as Error | null)?.message ?? error) : `${found.received ?? 'a value'} ${found.problem}`;
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
