// Reads a command line against the command table: which command (and
// action), its option values and arguments — or a UsageError saying what is
// wrong, naming the option and the command. Options are checked per command:
// an option another command takes is as wrong here as a made-up one.
import { parseArgs } from 'node:util';
import { COMMANDS, OPTION_TYPES, hasActions, listWords, type CommandSpec, type OptionName } from './commands.js';
import { UsageError } from './usage.js';

export type OptionValues = Partial<Record<OptionName, string | true>>;

export type CommandLine =
  /** Help on a command ('' for the tool). */
  | { kind: 'help'; topic: string }
  | { kind: 'version' }
  | {
      kind: 'run';
      /** The top-level command: 'listen', 'service'. */
      command: string;
      /** The command as messages name it: 'listen', 'service register'. */
      path: string;
      spec: CommandSpec;
      values: OptionValues;
      args: string[];
    };

/** `hvsock` alone: no command. Not a one-line mistake, so main answers with the tool's help. */
export class NoCommandError extends UsageError {
  constructor() {
    super('no command given', '');
  }
}

interface OptionToken {
  kind: 'option';
  name: string;
  rawName: string;
  value?: string | undefined;
  inlineValue?: boolean | undefined;
}

function read(argv: string[]): { options: OptionToken[]; positionals: string[] } {
  // Not strict: every option is read with its type (so "--name foo" keeps
  // foo as its value), and which ones this command takes is checked below,
  // where the message can name the command.
  const { tokens } = parseArgs({ args: argv, options: OPTION_TYPES, strict: false, allowPositionals: true, tokens: true });
  const options: OptionToken[] = [];
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'option') options.push(token);
    else if (token.kind === 'positional') positionals.push(token.value);
  }
  return { options, positionals };
}

function isKnown(name: string): name is OptionName {
  return Object.hasOwn(OPTION_TYPES, name);
}

/** "which takes --json", "which takes no options": what to write instead. */
function takes(spec: CommandSpec): string {
  if (spec.options.length === 0) return 'which takes no options';
  return `which takes ${listWords(spec.options.map((o) => `--${o}`))}`;
}

/** A value that is the next option, not a value: "--name --json". */
function looksLikeOption(value: string): boolean {
  return value.startsWith('--') || /^-[a-zA-Z]/.test(value);
}

/** Checks each option against the command's and reads their values. */
function readOptions(options: OptionToken[], spec: CommandSpec, path: string, topic: string): OptionValues {
  const values: OptionValues = {};
  for (const option of options) {
    if (option.name === 'help') continue;
    if (!isKnown(option.name) || !spec.options.includes(option.name)) {
      throw new UsageError(`${option.rawName} is not an option of ${path}, ${takes(spec)}`, path, topic);
    }
    if (OPTION_TYPES[option.name].type === 'string') {
      if (option.value === undefined || (option.inlineValue === false && looksLikeOption(option.value))) {
        throw new UsageError(`${option.rawName} needs a value`, path, topic);
      }
      values[option.name] = option.value;
    } else {
      if (option.value !== undefined) throw new UsageError(`${option.rawName} takes no value, got "${option.value}"`, path, topic);
      values[option.name] = true;
    }
  }
  return values;
}

/** `hvsock help [<command> [<action>]]`. */
function readHelp(options: OptionToken[], topics: string[]): CommandLine {
  const stray = options.find((o) => o.name !== 'help');
  if (stray !== undefined) throw new UsageError(`${stray.rawName} is not an option of help, which takes a command name`, 'help', '');
  const [named = '', action, ...extra] = topics;
  // `hvsock help help`: the tool's help is where help itself is described.
  const topic = named === 'help' ? '' : named;
  const entry = COMMANDS[topic];
  if (topic !== '' && entry === undefined) throw new UsageError(`unknown command "${topic}"`, 'help', '');
  if (action !== undefined && (entry === undefined || !hasActions(entry) || !Object.hasOwn(entry.actions, action))) {
    throw new UsageError(`unexpected argument "${action}"`, 'help', topic);
  }
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`, 'help', topic);
  return { kind: 'help', topic };
}

/** The tool's own options, with no command: --help and --version. */
function readToolOptions(options: OptionToken[]): CommandLine {
  if (options.some((o) => o.name === 'help')) return { kind: 'help', topic: '' };
  const version = options.find((o) => o.name === 'version');
  const stray = options.find((o) => o.name !== 'version');
  if (stray !== undefined) {
    throw new UsageError(`${stray.rawName} ${isKnown(stray.name) ? 'needs a command' : 'is not an option'}`, '', '');
  }
  if (version !== undefined) {
    if (version.value !== undefined) throw new UsageError(`${version.rawName} takes no value, got "${version.value}"`, '', '');
    return { kind: 'version' };
  }
  throw new NoCommandError();
}

/** Reads argv (without node and the script); throws UsageError for a bad command line. */
export function readCommandLine(argv: string[]): CommandLine {
  const { options, positionals } = read(argv);
  const [command, ...rest] = positionals;
  if (command === undefined) return readToolOptions(options);
  if (command === 'help') return readHelp(options, rest);
  const entry = COMMANDS[command];
  if (entry === undefined) throw new UsageError(`unknown command "${command}"`, '', '');
  // --help wins over everything else on the line: whoever asks for it is
  // unsure of the rest.
  if (options.some((o) => o.name === 'help')) return { kind: 'help', topic: command };
  let spec: CommandSpec;
  let path = command;
  let args = rest;
  if (hasActions(entry)) {
    const names = Object.keys(entry.actions);
    const [action, ...more] = rest;
    if (action === undefined) throw new UsageError(`needs an action: ${listWords(names)}`, command, command);
    const chosen = Object.hasOwn(entry.actions, action) ? entry.actions[action] : undefined;
    if (chosen === undefined) throw new UsageError(`unknown action "${action}": ${command} takes ${listWords(names)}`, command, command);
    spec = chosen;
    path = `${command} ${action}`;
    args = more;
  } else spec = entry;
  const values = readOptions(options, spec, path, command);
  if (args.length < spec.args.length) throw new UsageError(`missing ${spec.args[args.length]}`, path, command);
  if (args.length > spec.args.length && spec.rest === undefined) throw new UsageError(`unexpected argument "${args[spec.args.length]}"`, path, command);
  return { kind: 'run', command, path, spec, values, args };
}
