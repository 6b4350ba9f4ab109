// What each command takes: its options, its arguments, and whether it runs
// only on a Windows host. The command line is checked against this table
// before anything runs, and the help texts are tested against it.

/** Every option of every command, for reading a command line: an option's type says whether it takes a value. */
export const OPTION_TYPES = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
  json: { type: 'boolean' },
  'keep-open': { type: 'boolean', short: 'k' },
  name: { type: 'string' },
  enable: { type: 'boolean' },
  disable: { type: 'boolean' },
  mib: { type: 'string' },
  rounds: { type: 'string' },
  'service-id': { type: 'string' },
  wait: { type: 'string', short: 'w' },
  config: { type: 'string', short: 'c' },
  allow: { type: 'string' },
  'max-connections': { type: 'string' },
  'connect-timeout': { type: 'string' },
  'idle-timeout': { type: 'string' },
  'drain-timeout': { type: 'string' },
  'stats-interval': { type: 'string' },
  verbose: { type: 'boolean' },
} as const;

export type OptionName = keyof typeof OPTION_TYPES;

export interface CommandSpec {
  /** Its options, besides --help (which every command takes). */
  options: readonly OptionName[];
  /** Its arguments, all required, as messages name them ("the address"). */
  args: readonly string[];
  /** Set when any number of further arguments follow (forward's <listen> <target> pairs): what they are. */
  rest?: string;
  /** Set when it runs on a Windows host only: what it is, for "… is a Windows-host command". */
  windowsOnly?: string;
}

/** A command with actions (service register, vm list…): the action picks the spec. */
export interface ActionsSpec {
  actions: Readonly<Record<string, CommandSpec>>;
}

const SERVICES = 'Hyper-V service registration';
const VMS = 'Hyper-V VM management';

export const COMMANDS: Readonly<Record<string, CommandSpec | ActionsSpec>> = {
  listen: { options: ['keep-open'], args: ['the address'] },
  connect: { options: ['wait'], args: ['the address'] },
  forward: {
    options: ['config', 'allow', 'max-connections', 'connect-timeout', 'wait', 'idle-timeout', 'drain-timeout', 'verbose', 'json', 'stats-interval'],
    args: [],
    rest: '<listen> <target> pairs',
  },
  echo: { options: ['json'], args: ['the address'] },
  bench: { options: ['mib', 'rounds', 'json'], args: ['the address'] },
  doctor: { options: ['json'], args: [] },
  selftest: { options: ['json'], args: [] },
  service: {
    actions: {
      register: { options: ['name', 'service-id', 'json'], args: [], windowsOnly: SERVICES },
      list: { options: ['json'], args: [], windowsOnly: SERVICES },
      unregister: { options: [], args: ['the service (a GUID or a port)'], windowsOnly: SERVICES },
    },
  },
  vm: {
    actions: {
      list: { options: ['json'], args: [], windowsOnly: VMS },
      id: { options: ['json'], args: ['the VM name'], windowsOnly: VMS },
      nested: { options: ['enable', 'disable', 'json'], args: ['the VM name'], windowsOnly: VMS },
    },
  },
  wsl: { actions: { id: { options: ['json'], args: [] } } },
};

export function hasActions(entry: CommandSpec | ActionsSpec): entry is ActionsSpec {
  return 'actions' in entry;
}

/** "register, list or unregister" */
export function listWords(words: readonly string[]): string {
  return words.length <= 1 ? (words[0] ?? '') : `${words.slice(0, -1).join(', ')} or ${words[words.length - 1]}`;
}

/** Every option a command takes under any of its actions, for its help text. */
export function optionsOf(command: string): OptionName[] {
  const entry = COMMANDS[command];
  if (entry === undefined) return [];
  const specs = hasActions(entry) ? Object.values(entry.actions) : [entry];
  return [...new Set(specs.flatMap((spec) => spec.options))];
}
