// A bad command line, said in the CLI's words: the command it concerns, what
// is wrong, and (for a wrong option or argument) where to read the right ones.
// Exit code 2; the code is ERR_INVALID_ARG_VALUE so that exitCodeFor() and
// code that checks errors the library's way both read it as a usage error.

export class UsageError extends Error {
  readonly code = 'ERR_INVALID_ARG_VALUE';

  /**
   * `command`: the command line's command ('listen', 'service register'), or
   * '' for the tool itself. `helpTopic`: the `hvsock help <topic>` to point
   * to, when the user needs the list of what the command takes.
   */
  constructor(
    message: string,
    readonly command: string,
    readonly helpTopic?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }

  /** The one line the user reads: `hvsock doctor: ... (see hvsock help doctor)`. */
  get line(): string {
    const hint = this.helpTopic === undefined ? '' : ` (see hvsock help${this.helpTopic === '' ? '' : ` ${this.helpTopic}`})`;
    return `${commandPrefix(this.command)}${this.message}${hint}`;
  }
}

/** `hvsock listen: `, or `hvsock: ` for the tool itself. */
export function commandPrefix(command: string): string {
  return command === '' ? 'hvsock: ' : `hvsock ${command}: `;
}
