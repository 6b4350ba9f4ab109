// The hvsock command's long-running modes over real vsock (CID 1 in the
// guest): `listen --keep-open` serving one connection after another, and
// `echo` stopping on SIGINT with exit code 0 — also while a client is still
// connected — without a stack trace. No elapsed-time upper bounds: the guest's
// CPU is emulated; waits have generous ceilings instead.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connect, type Socket } from '../../src/index.js';
import { LOOPBACK, readAll } from './helpers.js';

const CLI = join(__dirname, '..', '..', 'dist', 'cjs', 'cli', 'main.js');
const port = (): number => 20000 + Math.floor(Math.random() * 1_000_000);
/** How long a command may take to stop once told to; far beyond what it needs, even emulated. */
const EXIT_CEILING_MS = 30_000;

interface Run {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Once its stdout and stderr have ended too: all it wrote has been read. */
  closed: Promise<unknown>;
  /** Everything written to stderr so far. */
  stderr: () => string;
  stdout: () => string;
}

/**
 * Starts the CLI with stdin from /dev/null (end of input at once), as a script
 * or a service runs it, or with stdin a pipe the test writes to.
 */
function hvsock(args: string[], stdin: 'ignore' | 'pipe' = 'ignore'): Run {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: [stdin, 'pipe', 'pipe'] });
  let err = '';
  let out = '';
  child.stderr?.on('data', (chunk) => (err += String(chunk)));
  child.stdout?.on('data', (chunk) => (out += String(chunk)));
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  const closed = once(child, 'close');
  return { child, exited, closed, stderr: () => err, stdout: () => out };
}

/** Resolves once `check` holds on the child's output, rejects if it exits first. */
function waitFor(run: Run, what: string, check: () => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const poll = setInterval(() => {
      if (check()) {
        clearInterval(poll);
        resolve();
      } else if (run.child.exitCode !== null || run.child.signalCode !== null) {
        clearInterval(poll);
        reject(new Error(`exited before ${what}; stderr: ${run.stderr()}`));
      }
    }, 20);
  });
}

/** The exit, or 'still running' after the ceiling (then the child is killed). */
async function exitWithin(run: Run, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null } | 'still running'> {
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([run.exited, new Promise<'still running'>((resolve) => (timer = setTimeout(resolve, ms, 'still running')))]);
  clearTimeout(timer);
  if (outcome === 'still running') {
    run.child.kill('SIGKILL');
    await run.exited;
  }
  return outcome;
}

/** A client that sends `text`, half-closes, and resolves with what it got back before the end. */
async function converse(p: number, text: string): Promise<string> {
  const socket = connect({ cid: LOOPBACK, port: p, allowHalfOpen: true });
  const reply = readAll(socket);
  // Listened for now: 'close' can follow 'end' before an await after it resumes.
  const closed = once(socket, 'close');
  socket.end(text);
  const got = (await reply).toString();
  await closed;
  return got;
}

const NO_STACK = /^\s+at\s|Error:|node:internal/m;

// Every test runs its own command on a port of its own: the tests of each
// block run side by side (describe.concurrent), their start-ups overlapping.
describe.concurrent('hvsock listen --keep-open', () => {
  it('serves several connections one after another and keeps listening', async () => {
    const p = port();
    const listener = hvsock(['listen', '--keep-open', `any:${p}`]);
    try {
      await waitFor(listener, 'listening', () => listener.stderr().includes('listening'));
      // Each client's bytes reach stdout; its stdin (/dev/null) ends at once, so each
      // connection is half-closed by the listener and ends when the client ends.
      for (const text of ['first client\n', 'second client\n', 'third client\n']) {
        expect(await converse(p, text)).toBe('');
        await waitFor(listener, `"${text.trim()}" on stdout`, () => listener.stdout().includes(text));
      }
      expect(listener.stdout()).toBe('first client\nsecond client\nthird client\n');
      // Still there for a fourth: without --keep-open the command exits after the first.
      expect(listener.child.exitCode).toBe(null);
      expect(await converse(p, 'fourth client\n')).toBe('');
      await waitFor(listener, 'the fourth client on stdout', () => listener.stdout().includes('fourth client\n'));
      expect(listener.child.exitCode).toBe(null);
      expect(listener.stderr()).not.toMatch(NO_STACK);
      // Where it listens and each peer, in the short form.
      const said = new RegExp(`^hvsock listen: listening on any:${p}\n(hvsock listen: connection from loopback:\\d+\n){4}$`);
      await waitFor(listener, 'a line per connection on stderr', () => said.test(listener.stderr()));
    } finally {
      listener.child.kill('SIGTERM');
      await listener.exited;
    }
  });

  it('a connection that fails while stdin is still open does not cost the next one its stdin', async () => {
    const p = port();
    const listener = hvsock(['listen', '--keep-open', `any:${p}`], 'pipe');
    const stdin = listener.child.stdin as NodeJS.WritableStream;
    try {
      await waitFor(listener, 'listening', () => listener.stderr().includes('listening'));
      const first = connect({ cid: LOOPBACK, port: p, allowHalfOpen: true });
      first.setEncoding('utf8');
      first.on('error', () => {});
      await once(first, 'connect');
      stdin.write('for the first\n');
      expect((await once(first, 'data'))[0]).toBe('for the first\n');
      // Gone without a word: the listener's next write to it fails (EPIPE, or
      // a reset), which ends that conversation with an error.
      first.destroy();
      stdin.write('lost with the first\n');
      await waitFor(listener, 'the first connection to fail', () => /hvsock listen: \w+ E[A-Z]+/.test(listener.stderr()));
      const second = connect({ cid: LOOPBACK, port: p, allowHalfOpen: true });
      const reply = readAll(second);
      const closed = once(second, 'close');
      await once(second, 'connect');
      stdin.write('for the second\n');
      stdin.end(); // half-closes the second connection: its reply is complete
      const got = await Promise.race([reply.then(String), new Promise((resolve) => setTimeout(resolve, EXIT_CEILING_MS, 'no reply and no end'))]);
      expect(got).toBe('for the second\n');
      second.end('from the second\n');
      await closed;
      await waitFor(listener, 'the second client on stdout', () => listener.stdout().includes('from the second\n'));
      expect(listener.child.exitCode).toBe(null);
    } finally {
      listener.child.kill('SIGTERM');
      await listener.exited;
    }
  });

  it('without --keep-open: the first connection ends the command with exit 0 and the port is closed', async () => {
    const p = port();
    const listener = hvsock(['listen', `any:${p}`]);
    await waitFor(listener, 'listening', () => listener.stderr().includes('listening'));
    expect(await converse(p, 'only client\n')).toBe('');
    expect(await exitWithin(listener, EXIT_CEILING_MS)).toEqual({ code: 0, signal: null });
    expect(listener.stdout()).toBe('only client\n');
    const late = connect({ cid: LOOPBACK, port: p });
    const [error] = (await once(late, 'error')) as [NodeJS.ErrnoException];
    expect(error.code).toBe('ECONNREFUSED');
  });
});

describe.concurrent('hvsock echo and SIGINT', () => {
  it('stops on SIGINT with exit code 0 and no stack trace', async () => {
    const p = port();
    const echo = hvsock(['echo', `any:${p}`]);
    await waitFor(echo, 'listening', () => echo.stderr().includes('\n'));
    expect(echo.stderr()).toBe(`hvsock echo: listening on any:${p}\n`);
    // It serves before the signal...
    const socket = connect({ cid: LOOPBACK, port: p });
    const reply = readAll(socket);
    socket.end('echo me');
    expect((await reply).toString()).toBe('echo me');
    // ...and stops on it.
    echo.child.kill('SIGINT');
    expect(await exitWithin(echo, EXIT_CEILING_MS)).toEqual({ code: 0, signal: null });
    await echo.closed;
    expect(echo.stderr()).not.toMatch(NO_STACK);
    expect(echo.stderr()).toMatch(new RegExp(`^hvsock echo: listening on any:${p}\nhvsock echo: connection from loopback:\\d+\n$`));
    const late = connect({ cid: LOOPBACK, port: p });
    const [error] = (await once(late, 'error')) as [NodeJS.ErrnoException];
    expect(error.code).toBe('ECONNREFUSED');
  });

  it('stops on SIGINT while a client is still connected, closing that connection', async () => {
    const p = port();
    const echo = hvsock(['echo', `any:${p}`]);
    await waitFor(echo, 'listening', () => echo.stderr().includes('listening'));
    const client: Socket = connect({ cid: LOOPBACK, port: p });
    client.on('error', () => {}); // a reset is as good as an end here: the service is gone
    client.setEncoding('utf8');
    client.write('are you there?');
    const [echoed] = (await once(client, 'data')) as [string];
    expect(echoed).toBe('are you there?');
    const clientClosed = once(client, 'close');
    try {
      // The client stays connected and idle: "until SIGINT" must not mean "until the last client leaves".
      echo.child.kill('SIGINT');
      expect(await exitWithin(echo, EXIT_CEILING_MS)).toEqual({ code: 0, signal: null });
      expect(echo.stderr()).not.toMatch(NO_STACK);
      // The service's end (or reset) closed the client, not the test.
      await clientClosed;
    } finally {
      client.destroy();
    }
  });
});
