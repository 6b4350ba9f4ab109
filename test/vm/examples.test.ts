// The examples as a user runs them, each in its own process over real vsock
// (CID 1 in the guest): the echo pair, the demo, the file pair with its
// SHA-256 check, and the ordinary failures, each of which must be one line
// on stderr, no stack trace, and a non-zero exit (2 for a bad command line).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connect } from '../../src/index.js';
import { LOOPBACK, readAll } from './helpers.js';

const EXAMPLES = join(__dirname, '..', '..', 'examples');
const port = (): number => 20000 + Math.floor(Math.random() * 1_000_000);

interface Run {
  child: ChildProcess;
  /** The exit code, listened for from the start: a child may end before anyone awaits it. */
  exited: Promise<number | null>;
  /** Everything written so far, and all of it once the child has closed its streams. */
  out: () => string;
  err: () => string;
  closed: Promise<void>;
}

function example(name: string, args: string[]): Run {
  const child = spawn(process.execPath, [join(EXAMPLES, name), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk) => (out += String(chunk)));
  child.stderr?.on('data', (chunk) => (err += String(chunk)));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const closed = once(child, 'close').then(() => undefined);
  return { child, exited, closed, out: () => out, err: () => err };
}

/** Resolves with the match once the child's stdout or stderr shows `pattern`; rejects if it exits first. */
function shows(run: Run, stream: 'stdout' | 'stderr', pattern: RegExp): Promise<RegExpMatchArray> {
  const text = stream === 'stdout' ? run.out : run.err;
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      const match = text().match(pattern);
      if (match) resolve(match);
      return match !== null;
    };
    if (check()) return;
    const source = stream === 'stdout' ? run.child.stdout : run.child.stderr;
    const onData = (): void => {
      if (check()) source?.off('data', onData);
    };
    source?.on('data', onData);
    run.closed.then(() => {
      if (!check()) reject(new Error(`exited without ${pattern}: stdout ${JSON.stringify(run.out())} stderr ${JSON.stringify(run.err())}`));
    });
  });
}

const lines = (text: string): string[] => text.split('\n').filter((line) => line !== '');

/** A failure as the examples must report it: exactly one line, from the example, no stack trace. */
function expectOneLine(text: string, pattern: RegExp): void {
  expect(lines(text)).toEqual([expect.stringMatching(pattern)]);
  expect(text).not.toMatch(/^\s+at /m);
}

/**
 * A sender's stderr after a failure: progress lines, never 100 %, then the
 * error as the one last line.
 */
function expectProgressThenError(text: string, label: string, pattern: RegExp): void {
  const all = lines(text);
  expect(all.at(-1)).toMatch(pattern);
  const rest = all.slice(0, -1);
  for (const line of rest) expect(line).toMatch(new RegExp(`^${label}: \\d+% `));
  expect(text).not.toMatch(/100%/);
  expect(text).not.toMatch(/^\s+at /m);
}

function scratch(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `hvsock-${prefix}-`));
}

/** A receiver that listens, and the port it listens on. */
async function receiver(folder: string, extra: string[] = []): Promise<{ run: Run; p: number }> {
  const p = port();
  const run = example('receive-file.mjs', [`any:${p}`, folder, ...extra]);
  await shows(run, 'stdout', new RegExp(`receiving files on any:${p} into `));
  return { run, p };
}

/** What a raw hvsock client gets back after sending `bytes` to a receiver and ending. */
async function sendRaw(p: number, bytes: string | Buffer): Promise<string> {
  const socket = connect({ cid: LOOPBACK, port: p });
  await once(socket, 'connect');
  const reply = readAll(socket);
  socket.end(bytes);
  return (await reply).toString();
}

describe('the echo examples', () => {
  it('echo-server and echo-client make a round trip and print short-form addresses', async () => {
    const p = port();
    const server = example('echo-server.mjs', [`any:${p}`]);
    await shows(server, 'stdout', /echo server listening on /);
    expect(lines(server.out())[0]).toBe(`echo server listening on any:${p}`);
    const client = example('echo-client.mjs', [`loopback:${p}`, 'hello', 'over', 'vsock']);
    expect(await client.exited).toBe(0);
    await client.closed;
    expect(lines(client.out())).toEqual([`connected to loopback:${p}`, 'echoed: hello over vsock']);
    expect(client.err()).toBe('');
    await shows(server, 'stdout', /connection from loopback:\d+\n/);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(server.err()).toBe('');
  });

  it('echo-server listens on any:5000 when given no address', async () => {
    const server = example('echo-server.mjs', []);
    await shows(server, 'stdout', /echo server listening on any:5000\n/);
    server.child.kill('SIGINT');
    expect(await server.exited).toBe(0);
  });

  it('the demo (npm run demo) echoes through three spellings of one address and says ok', async () => {
    const demo = example('echo-demo.mjs', []);
    expect(await demo.exited).toBe(0);
    await demo.closed;
    const out = lines(demo.out());
    expect(out[0]).toMatch(/^\[server\] echo server listening on any:\d+$/);
    expect(out.filter((line) => line.startsWith('[client] echoed: ping via '))).toHaveLength(3);
    expect(out.at(-1)).toBe('demo: ok');
    expect(demo.err()).toBe('');
  });
});

describe('the file-transfer examples', () => {
  it('move a file with progress, one 100 % line at the end, and a matching SHA-256', async () => {
    const dir = scratch('files');
    const inbox = scratch('inbox');
    const data = randomBytes(3 * 1024 * 1024 + 17);
    writeFileSync(join(dir, 'payload.bin'), data);
    const { run: receiving, p } = await receiver(inbox, ['--once']);
    const sender = example('send-file.mjs', [`loopback:${p}`, join(dir, 'payload.bin')]);
    expect(await sender.exited).toBe(0);
    expect(await receiving.exited).toBe(0);
    await Promise.all([sender.closed, receiving.closed]);
    expect(sender.out()).toMatch(new RegExp(`^sent payload\\.bin \\(${data.length} bytes\\) to loopback:${p}; the receiver's SHA-256 matches: [0-9a-f]{64}\\n$`));
    const sent = lines(sender.err());
    expect(sent.at(-1)).toMatch(/^sending payload\.bin: 100% 3\.0\/3\.0 MiB /);
    expect(sent.filter((line) => line.includes('100%'))).toHaveLength(1);
    expect(receiving.out()).toMatch(new RegExp(`received payload\\.bin \\(${data.length} bytes\\) from loopback:\\d+ into `));
    expect(lines(receiving.err()).at(-1)).toMatch(/^receiving payload\.bin: 100% 3\.0\/3\.0 MiB /);
    expect(readFileSync(join(inbox, 'payload.bin')).equals(data)).toBe(true);
  });

  it('a missing folder: the receiver refuses to start, or, removed later, refuses the file and the sender says why', async () => {
    const missing = join(scratch('gone'), 'missing');
    const early = example('receive-file.mjs', [`any:${port()}`, missing]);
    expect(await early.exited).toBe(1);
    await early.closed;
    expectOneLine(early.err(), /^receive-file: cannot write into .*missing \(ENOENT: no such file or directory\)$/);

    const dir = scratch('files');
    writeFileSync(join(dir, 'payload.bin'), randomBytes(1024 * 1024));
    const inbox = scratch('inbox');
    const { run: receiving, p } = await receiver(inbox);
    rmSync(inbox, { recursive: true });
    const sender = example('send-file.mjs', [`loopback:${p}`, join(dir, 'payload.bin')]);
    expect(await receiving.exited).toBe(1);
    expect(await sender.exited).toBe(1);
    await Promise.all([sender.closed, receiving.closed]);
    expectOneLine(receiving.err(), /^receive-file: cannot write .*payload\.bin \(ENOENT: no such file or directory\)$/);
    expectProgressThenError(sender.err(), 'sending payload.bin', /^send-file: the receiver at loopback:\d+ refused the file: cannot write .*payload\.bin \(ENOENT/);
    expect(sender.out()).toBe('');
  });

  it('a malformed or truncated header or file ends the receiver with one line, tells the sender, and leaves no file', async () => {
    const cases: Array<[string | Buffer, RegExp]> = [
      ['this is not json\n', /malformed file header from loopback:\d+: the header line is not JSON$/],
      [`${JSON.stringify({ name: '../escape.bin', size: 1 })}\nx`, /malformed file header from loopback:\d+: the header's name "..\/escape.bin" is not a plain file name$/],
      ['{"name":"a.bin","si', /loopback:\d+ ended the connection inside the file header$/],
      [`${JSON.stringify({ name: 'a.bin', size: 1000 })}\n${'x'.repeat(10)}`, /a\.bin from loopback:\d+ is truncated: 10 of 1000 bytes arrived$/],
      [`${JSON.stringify({ name: 'a.bin', size: 2 })}\nxyz`, /loopback:\d+ sent more than the 2 bytes its header announced$/],
    ];
    // Each case has a receiver, port and inbox of its own: all five at once,
    // their process start-ups overlapping, each judged as before.
    await Promise.all(
      cases.map(async ([bytes, why]) => {
        const inbox = scratch('inbox');
        const { run: receiving, p } = await receiver(inbox);
        const reply = await sendRaw(p, bytes);
        expect(await receiving.exited).toBe(1);
        await receiving.closed;
        expect(reply).toMatch(new RegExp(`^error ${why.source.replace(/\$$/, '')}\\n$`));
        const err = lines(receiving.err()).filter((line) => !/^receiving a\.bin: \d+% /.test(line));
        expectOneLine(err.join('\n'), new RegExp(`^receive-file: ${why.source}`));
        expect(receiving.err()).not.toMatch(/100%/);
        expect(readdirSync(inbox)).toEqual([]);
      }),
    );
  });

  it("the sender stops at the first error when its receiver is killed mid-transfer, without claiming 100 %", async () => {
    const dir = scratch('files');
    writeFileSync(join(dir, 'big.bin'), randomBytes(64 * 1024 * 1024));
    const { run: receiving, p } = await receiver(scratch('inbox'), ['--once']);
    const sender = example('send-file.mjs', [`loopback:${p}`, join(dir, 'big.bin')]);
    // Frozen as soon as the file starts to arrive: the transfer is certainly under way, and cannot finish.
    await shows(receiving, 'stderr', /receiving big\.bin: 0% /);
    receiving.child.kill('SIGSTOP');
    await shows(sender, 'stderr', /sending big\.bin: 0% /);
    receiving.child.kill('SIGKILL');
    expect(await sender.exited).toBe(1);
    await sender.closed;
    expectProgressThenError(sender.err(), 'sending big.bin', /^send-file: (.* (ECONNRESET|EPIPE) \(the peer went away\)|the receiver at loopback:\d+ closed the connection before the file was sent)$/);
    expect(lines(sender.err()).filter((line) => line.startsWith('send-file:'))).toHaveLength(1);
    expect(sender.out()).toBe('');
  });

  it('the receiver stops with one line and removes the partial file when its sender is killed mid-transfer', async () => {
    const dir = scratch('files');
    writeFileSync(join(dir, 'big.bin'), randomBytes(64 * 1024 * 1024));
    const inbox = scratch('inbox');
    const { run: receiving, p } = await receiver(inbox, ['--once']);
    const sender = example('send-file.mjs', [`loopback:${p}`, join(dir, 'big.bin')]);
    await shows(receiving, 'stderr', /receiving big\.bin: 0% /);
    sender.child.kill('SIGSTOP');
    sender.child.kill('SIGKILL');
    expect(await receiving.exited).toBe(1);
    await receiving.closed;
    expectProgressThenError(
      receiving.err(),
      'receiving big.bin',
      /^receive-file: (big\.bin from loopback:\d+ is truncated: \d+ of 67108864 bytes arrived|the connection from loopback:\d+ failed: read ECONNRESET \(the peer went away\))$/,
    );
    expect(readdirSync(inbox)).toEqual([]);
  });
});

describe('every example', () => {
  it('reports a refused connect in one line naming ECONNREFUSED, exit 1', async () => {
    const p = port();
    const client = example('echo-client.mjs', [`loopback:${p}`]);
    const sender = example('send-file.mjs', [`loopback:${p}`, join(EXAMPLES, 'cli.mjs')]);
    expect(await client.exited).toBe(1);
    expect(await sender.exited).toBe(1);
    await Promise.all([client.closed, sender.closed]);
    expectOneLine(client.err(), new RegExp(`^echo-client: connect ECONNREFUSED loopback:${p} \\(nothing listens there\\)$`));
    expectOneLine(sender.err(), new RegExp(`^send-file: connect ECONNREFUSED loopback:${p} \\(nothing listens there\\)$`));
    expect(client.out()).toBe('');
    expect(sender.out()).toBe('');
  });

  it('takes [machine:]service first, says so in --help, and exits 2 with one line for a bad address', async () => {
    const bad: Array<[string, string[]]> = [
      ['echo-server.mjs', ['nope:5000']],
      ['echo-client.mjs', ['1:2:3', 'hello']],
      ['send-file.mjs', ['loopback:file', join(EXAMPLES, 'cli.mjs')]],
      ['receive-file.mjs', [tmpdir()]],
    ];
    // Eight independent processes (no port, no shared state): started at
    // once rather than one after another, each judged as before.
    const started = bad.map(([name, args]) => ({ name, args, run: example(name, args), help: example(name, ['--help']) }));
    for (const { name, args, run, help } of started) {
      expect(await run.exited).toBe(2);
      await run.closed;
      expectOneLine(run.err(), new RegExp(`^${name.replace('.mjs', '')}: bad address "${args[0]}": it .*; usage: node examples/${name} .*\\[machine:\\]service`));
      expect(run.out()).toBe('');

      expect(await help.exited).toBe(0);
      await help.closed;
      expect(lines(help.out())[0]).toMatch(new RegExp(`^usage: node examples/${name} [\\[<]\\[machine:\\]service[\\]>]`));
    }
  });
});
