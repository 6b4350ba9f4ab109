import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { planForward, recordText } from '../../../src/cli/forward.js';
import type { ForwardRecord } from '../../../src/forward/forwarder.js';
import { main } from '../../../src/cli/main.js';
import { UsageError } from '../../../src/cli/usage.js';
import type { OptionValues } from '../../../src/cli/command-line.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsock-forward-unit-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function file(name: string, value: unknown): string {
  const where = path.join(dir, name);
  fs.writeFileSync(where, typeof value === 'string' ? value : JSON.stringify(value));
  return where;
}

/** The usage line planForward throws (exit 2 through main), or fails the test. */
function usage(args: string[], values: OptionValues = {}, platform: NodeJS.Platform = 'linux'): string {
  try {
    planForward(args, values, platform);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as UsageError).line;
  }
  throw new Error(`${args.join(' ')} was accepted`);
}

const HELP = ' (see hvsock help forward)';

describe('hvsock forward: planning from the command line', () => {
  it('pairs become rules, each with the flags the line gives; none of them listens yet', () => {
    expect(planForward(['tcp:2222', 'tcp:db:22'], {}, 'linux')).toEqual({
      verbose: false,
      json: false,
      statsIntervalMs: 0,
      options: [{ listen: 'tcp:2222', target: 'tcp:db:22' }],
    });
    const values = {
      allow: '3,parent',
      'max-connections': '4',
      'connect-timeout': '2.5',
      wait: '30',
      'idle-timeout': '600',
      'drain-timeout': '0',
      verbose: true,
      json: true,
      'stats-interval': '60',
    } as OptionValues;
    const shared = { maxConnections: 4, connectTimeout: 2500, redial: 30_000, idleTimeout: 600_000, drainTimeout: 0 };
    expect(planForward(['tcp:2222', 'tcp:db:22', 'any:5000', 'tcp:80'], values, 'linux')).toEqual({
      verbose: true,
      json: true,
      statsIntervalMs: 60_000,
      // --allow goes to the hvsock listen end only.
      options: [
        { listen: 'tcp:2222', target: 'tcp:db:22', ...shared },
        { listen: 'any:5000', target: 'tcp:80', allow: '3,parent', ...shared },
      ],
    });
  });

  it('no pair, an odd count, and --config with pairs or with rule flags', () => {
    expect(usage([])).toBe(`hvsock forward: needs a <listen> <target> pair, or --config <file>${HELP}`);
    expect(usage(['tcp:2222'])).toBe(`hvsock forward: "tcp:2222" has no target: give <listen> <target> pairs${HELP}`);
    expect(usage(['tcp:1', 'tcp:2', 'tcp:3'])).toBe(`hvsock forward: "tcp:3" has no target: give <listen> <target> pairs${HELP}`);
    const config = file('ok.json', { forwards: [{ listen: 'tcp:1', target: 'tcp:2' }] });
    expect(usage(['tcp:1', 'tcp:2'], { config })).toBe(`hvsock forward: takes rules from --config or from the command line, not both (got "tcp:1" too)${HELP}`);
    for (const flag of ['allow', 'max-connections', 'connect-timeout', 'wait', 'idle-timeout', 'drain-timeout'] as const) {
      expect(usage([], { config, [flag]: '5' }), flag).toBe(`hvsock forward: --${flag} shapes rules given on the command line; with --config, set it on each rule in the file${HELP}`);
    }
  });

  it('--config: the file\'s rules, with --verbose, --json and --stats-interval from the line', () => {
    const forwards = [{ name: 'ssh', listen: 'tcp:2222', target: 'tcp:db:22', idleTimeout: 600_000 }];
    const config = file('rules.json', { forwards });
    expect(planForward([], { config, verbose: true, json: true, 'stats-interval': '5' }, 'linux')).toEqual({ verbose: true, json: true, statsIntervalMs: 5000, options: forwards });
  });

  it('--config errors: the file\'s one line, exit 2; an unreadable file says why', () => {
    const bad = file('bad.json', { forwards: [{ name: 'a', listen: 'tcp:1', target: 'tcp:2' }, { name: 'a', listen: 'tcp:3', target: 'tcp:4' }] });
    expect(usage([], { config: bad })).toBe(`hvsock forward: ${bad}: rule 2 ("a"): the name "a" is rule 1's too; names must differ`);
    const missing = path.join(dir, 'missing.json');
    expect(usage([], { config: missing })).toBe(`hvsock forward: cannot read ${missing}: ENOENT`);
    expect(usage([], { config: dir })).toBe(`hvsock forward: cannot read ${dir}: EISDIR`);
    // For the OS it runs on: a pipe is a Windows end.
    const pipe = file('pipe.json', { forwards: [{ listen: 'pipe:a', target: 'tcp:2' }] });
    expect(usage([], { config: pipe }, 'linux')).toBe(`hvsock forward: ${pipe}: rule 1: "listen" is a Windows named pipe: on Linux write unix:PATH (got 'pipe:a')`);
    expect(planForward([], { config: pipe }, 'win32').options).toEqual([{ listen: 'pipe:a', target: 'tcp:2' }]);
  });

  it('--allow: required for an hvsock listen end, refused when no listen end is one', () => {
    expect(usage(['any:5000', 'tcp:80'])).toMatch(/^hvsock forward: --allow is required: any:5000 takes connections from other machines, .*write any to let every peer in \(see hvsock help forward\)$/);
    expect(usage(['tcp:1', 'tcp:2'], { allow: 'any' })).toBe(
      `hvsock forward: --allow filters the peers of an hvsock listen end, and no listen end here is one (a tcp: end binds 127.0.0.1 unless given a host)${HELP}`,
    );
    expect(usage(['any:1', 'tcp:2'], { allow: 'nope' })).toMatch(/^hvsock forward: --allow "nope" is not a peer: write any, a CID/);
    expect(usage(['any:1', 'tcp:2'], { allow: 'wsl' }, 'linux')).toMatch(/^hvsock forward: --allow "wsl" is WSL 2's VM/);
  });

  it('a bad pair names the end as typed, and which pair when there are several', () => {
    expect(usage(['tcp:x', 'tcp:2'])).toBe(`hvsock forward: listen "tcp:x" has TCP port "x": write a number from 0 to 65535${HELP}`);
    expect(usage(['tcp:1', 'tcp:2', 'tcp:3', 'tcp:x'])).toBe(`hvsock forward: forward 2 (tcp:3 tcp:x): target "tcp:x" has TCP port "x": write a number from 1 to 65535${HELP}`);
    expect(usage(['tcp:1', 'tcp:2', 'any:1', 'tcp:2'])).toMatch(/^hvsock forward: forward 2 \(any:1 tcp:2\): --allow is required/);
    expect(usage(['tcp:2222', 'tcp:2222'])).toBe(`hvsock forward: target "tcp:2222" is the listen end itself (tcp:2222): every connection would loop${HELP}`);
    expect(usage(['pipe:a', 'tcp:2'], {}, 'linux')).toBe(`hvsock forward: listen "pipe:a" is a Windows named pipe: on Linux write unix:PATH${HELP}`);
    expect(usage(['unix:/a', 'tcp:2'], {}, 'win32')).toMatch(/^hvsock forward: listen "unix:\/a" is a Unix domain socket, which Node does not offer on Windows/);
    expect(planForward(['pipe:a', 'tcp:2', 'tcp:3', 'pipe:b'], {}, 'win32').options).toHaveLength(2);
    expect(usage(['tcp:1', 'vm:MyVM:22'], {}, 'linux')).toMatch(/^hvsock forward: target "vm:MyVM:22" names a Hyper-V VM, which only a Windows host can look up/);
  });

  it('seconds: decimals allowed, from each flag\'s minimum to 1000000; counts are whole numbers', () => {
    const ms = (flag: string, text: string) => planForward(['tcp:1', 'tcp:2'], { [flag]: text } as OptionValues, 'linux').options[0];
    expect(ms('connect-timeout', '0.001')).toMatchObject({ connectTimeout: 1 });
    expect(ms('connect-timeout', '1000000')).toMatchObject({ connectTimeout: 1_000_000_000 });
    expect(ms('wait', '0')).toMatchObject({ redial: 0 });
    expect(ms('idle-timeout', '0.25')).toMatchObject({ idleTimeout: 250 });
    expect(ms('drain-timeout', '10')).toMatchObject({ drainTimeout: 10_000 });
    expect(planForward(['tcp:1', 'tcp:2'], { 'stats-interval': '1.5' }, 'linux').statsIntervalMs).toBe(1500);
    const seconds: Array<[string, string, string]> = [
      ['connect-timeout', '0', '0.001'],
      ['connect-timeout', '0.0001', '0.001'],
      ['wait', '-1', '0'],
      ['wait', '1e3', '0'],
      ['idle-timeout', '1000001', '0'],
      ['drain-timeout', 'soon', '0'],
      ['drain-timeout', '', '0'],
      ['stats-interval', '0.5', '1'],
    ];
    for (const [flag, text, min] of seconds) {
      expect(usage(['tcp:1', 'tcp:2'], { [flag]: text } as OptionValues), `--${flag} ${text}`).toBe(`hvsock forward: --${flag} must be a number of seconds from ${min} to 1000000, got "${text}"${HELP}`);
    }
    for (const text of ['0', '1.5', '-1', '10000000', 'x']) {
      expect(usage(['tcp:1', 'tcp:2'], { 'max-connections': text }), text).toBe(`hvsock forward: --max-connections must be a whole number from 1 to 1000000, got "${text}"${HELP}`);
    }
  });

  it('through main: a usage error is one line on stderr and exit 2, before anything listens', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['forward', '--max-connections', '0', 'tcp:1', 'tcp:2'], { out: (t) => out.push(t), err: (t) => err.push(t) }, { platform: 'linux' });
    expect({ code, out, err }).toEqual({ code: 2, out: [], err: [`hvsock forward: --max-connections must be a whole number from 1 to 1000000, got "0"${HELP}`] });
    const bad = file('main.json', '{');
    const r = { out: [] as string[], err: [] as string[] };
    expect(await main(['forward', '-c', bad], { out: (t) => r.out.push(t), err: (t) => r.err.push(t) }, { platform: 'linux' })).toBe(2);
    expect(r.out).toEqual([]);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(new RegExp(`^hvsock forward: ${bad.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')}: not JSON: `));
  });
});

describe('hvsock forward: the line a finished connection gets', () => {
  const base: ForwardRecord = {
    id: 7,
    rule: 'ssh',
    peer: 'tcp:127.0.0.1:5555',
    target: 'tcp:db:22',
    outcome: 'closed',
    bytesIn: 1536,
    bytesOut: 3 * 1024 * 1024,
    durationMs: 1234.5,
  };
  const error = (message: string, fields: object) => Object.assign(new Error(message), fields);

  it('how it ended, with the rule, the id, the peer, the target, the time and the bytes each way', () => {
    expect(recordText(base)).toBe('ssh: #7 tcp:127.0.0.1:5555 -> tcp:db:22 closed after 1.23 s, 1.5 KiB in, 3.0 MiB out');
    expect(recordText({ ...base, outcome: 'idle' })).toBe('ssh: #7 tcp:127.0.0.1:5555 -> tcp:db:22 closed after 1.23 s idle timeout, 1.5 KiB in, 3.0 MiB out');
    expect(recordText({ ...base, outcome: 'cut' })).toBe('ssh: #7 tcp:127.0.0.1:5555 -> tcp:db:22 reset by the forward closing after 1.23 s, 1.5 KiB in, 3.0 MiB out');
    expect(recordText({ ...base, outcome: 'reset', side: 'target', error: error('read ECONNRESET', { code: 'ECONNRESET' }) })).toBe(
      'ssh: #7 tcp:127.0.0.1:5555 -> tcp:db:22 reset by the target after 1.23 s, 1.5 KiB in, 3.0 MiB out: read ECONNRESET',
    );
    expect(recordText({ ...base, outcome: 'reset', side: 'client' })).toMatch(/ reset by the client after 1\.23 s/);
  });

  it('a target it could not reach, with the attempts when there were several; a client that left first', () => {
    const refused = error('connect ECONNREFUSED 127.0.0.1:22', { code: 'ECONNREFUSED', attempts: 3 });
    expect(recordText({ ...base, outcome: 'failed', side: 'target', error: refused, bytesIn: 0, bytesOut: 0 })).toBe(
      'ssh: #7 tcp:127.0.0.1:5555 -> tcp:db:22 failed: cannot reach tcp:db:22: connect ECONNREFUSED 127.0.0.1:22 (3 attempts)',
    );
    const timedOut = error('connect ETIMEDOUT tcp:db:22 (no answer within 300 ms)', { code: 'ETIMEDOUT', attempts: 1 });
    expect(recordText({ ...base, outcome: 'failed', side: 'target', error: timedOut })).toBe(
      'ssh: #7 tcp:127.0.0.1:5555 -> tcp:db:22 failed: cannot reach tcp:db:22: connect ETIMEDOUT tcp:db:22 (no answer within 300 ms)',
    );
    expect(recordText({ ...base, outcome: 'failed', side: 'client', error: new Error('the client left before the target answered') })).toBe(
      'ssh: #7 tcp:127.0.0.1:5555 -> tcp:db:22 gave up: the client left after 1.23 s, before the target answered',
    );
  });

  it('sizes from bytes to GiB', () => {
    expect(recordText({ ...base, bytesIn: 0, bytesOut: 1023 })).toMatch(/, 0 B in, 1023 B out$/);
    expect(recordText({ ...base, bytesIn: 1024, bytesOut: 1024 * 1024 - 1 })).toMatch(/, 1\.0 KiB in, 1024\.0 KiB out$/);
    expect(recordText({ ...base, bytesIn: 5 * 1024 ** 3, bytesOut: 100 })).toMatch(/, 5\.00 GiB in, 100 B out$/);
    expect(recordText({ ...base, durationMs: 0 })).toMatch(/ closed after 0\.00 s,/);
  });
});
