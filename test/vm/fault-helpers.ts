// Child processes for the fault suite (faults.test.ts): each fixture is a real
// peer in a process of its own, reporting JSON lines on stdout and taking
// commands as JSON lines on stdin (fixtures/faults-lib.cjs is the other end).
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const MiB = 1024 * 1024;

export interface Message {
  type: string;
  [key: string]: unknown;
}

export interface ChildOptions {
  /** Node flags, e.g. --expose-gc. */
  execArgv?: string[];
  /**
   * A descriptor limit to run under. Node raises its soft limit to the hard
   * one by itself but cannot go beyond it; the shell that execs it can (the
   * guest runs as root).
   */
  nofile?: number;
  /** Variables added to this process's environment for the child. */
  env?: Record<string, string>;
}

const running = new Set<Child>();

/** Kills whatever a test left running (stopped ones too: SIGKILL ends a stopped process). */
export async function killAllChildren(): Promise<void> {
  const children = [...running];
  running.clear();
  await Promise.all(children.map((c) => c.kill('SIGKILL')));
}

export class Child {
  name: string;
  readonly process: ChildProcess;
  /** Resolves when the process has exited: its code, or the signal that ended it. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  #queue: Message[] = [];
  #waiters: Array<() => void> = [];
  #stderr = '';
  #gone = false;
  #fixture: string;
  #waitingForArgs: boolean;

  /**
   * Starts the fixture now. With `args` null it starts through
   * fixtures/faults-launch.cjs, which loads what the fixture needs and then
   * waits for start(args): the usual second process of a case (the one that
   * needs its peer's port) then starts up while the first one does, rather
   * than after it; it runs exactly as `node <fixture> <args...>` would.
   */
  constructor(fixture: string, args: string[] | null = [], options: ChildOptions = {}) {
    this.#fixture = fixture;
    this.#waitingForArgs = args === null;
    this.name = args === null ? `${fixture} (arguments to come)` : `${fixture} ${args.join(' ')}`.trim();
    const script = args === null ? [join(__dirname, 'fixtures', 'faults-launch.cjs'), fixture] : [join(__dirname, 'fixtures', fixture), ...args];
    const node = [process.execPath, ...(options.execArgv ?? []), ...script];
    const spawnOptions = { stdio: ['pipe', 'pipe', 'pipe'] as ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...options.env } };
    this.process =
      options.nofile === undefined
        ? spawn(node[0] as string, node.slice(1), spawnOptions)
        : // exec: the pid the test signals is node's own, not a shell's.
          spawn('sh', ['-c', `ulimit -n ${options.nofile} && exec "$@"`, 'sh', ...node], spawnOptions);
    running.add(this);
    this.exited = new Promise((resolve) => {
      this.process.once('exit', (code, signal) => {
        this.#gone = true;
        running.delete(this);
        resolve({ code, signal });
        this.#wake();
      });
    });
    this.process.stderr!.on('data', (chunk) => {
      this.#stderr = (this.#stderr + String(chunk)).slice(-4000);
    });
    createInterface({ input: this.process.stdout! }).on('line', (line) => {
      let message: Message;
      try {
        message = JSON.parse(line) as Message;
      } catch {
        message = { type: 'garbage', line };
      }
      this.#queue.push(message);
      this.#wake();
    });
    // A child that died has closed its stdin: a late command must not crash the test.
    this.process.stdin!.on('error', () => {});
  }

  /** A fixture started with `args` null (see the constructor) runs now, with these. */
  start(args: string[]): this {
    if (!this.#waitingForArgs) throw new Error(`${this.name} was started with its arguments already`);
    this.#waitingForArgs = false;
    this.name = `${this.#fixture} ${args.join(' ')}`.trim();
    this.process.stdin!.write(`${JSON.stringify(args)}\n`);
    return this;
  }

  get pid(): number {
    return this.process.pid as number;
  }

  /**
   * The oldest message of this type not taken yet (messages of other types
   * wait for their own next()). A 'fail' message, which the child sends when
   * something it did not expect happened, fails the test. Rejects on timeout
   * or exit.
   */
  async next<T extends Message = Message>(type: string, ms = 60_000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const failed = this.#queue.find((m) => m.type === 'fail');
      if (failed !== undefined) throw new Error(`${this.name}: ${String(failed.message)}`);
      const at = this.#queue.findIndex((m) => m.type === type);
      if (at >= 0) return this.#queue.splice(at, 1)[0] as T;
      if (this.#gone) throw new Error(`${this.name} exited before reporting "${type}"${this.#tail()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.name} did not report "${type}" within ${ms} ms${this.#tail()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Sends one command line to the child's stdin. */
  send(command: Record<string, unknown>): void {
    this.process.stdin!.write(`${JSON.stringify(command)}\n`);
  }

  /** Sends a command and waits for the report of `type` it produces. */
  async ask<T extends Message = Message>(command: Record<string, unknown>, type: string, ms = 60_000): Promise<T> {
    this.send(command);
    return this.next<T>(type, ms);
  }

  signal(sig: NodeJS.Signals): void {
    if (!process.kill(this.pid, sig)) throw new Error(`could not send ${sig} to ${this.name}`);
  }

  /** Waits for the exit; fails if the child is still running after `ms`. */
  async exit(ms = 60_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.name} still running after ${ms} ms${this.#tail()}`)), ms);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The final 'done' report, then a clean exit (code 0): the child's own verdict that it did not crash. */
  async done<T extends Message = Message>(ms = 60_000): Promise<T> {
    const result = await this.next<T>('done', ms);
    const { code, signal } = await this.exit(ms);
    if (code !== 0) throw new Error(`${this.name} reported done but exited with ${code ?? signal}${this.#tail()}`);
    return result;
  }

  async kill(sig: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.#gone) return;
    this.process.kill(sig);
    await this.exited;
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  #tail(): string {
    return this.#stderr ? `; its stderr ends with:\n${this.#stderr}` : '';
  }
}

/** Polls `check` until it returns a value other than undefined/false; fails after `ms`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  ms = 60_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
