import { describe, expect, it } from 'vitest';
import { FORWARD_DEFAULTS, readForwardOptions } from '../../../src/forward/options.js';
import { readForwardConfig, ForwardConfigError } from '../../../src/forward/config.js';

const base = { listen: 'tcp:2222', target: 'tcp:db:5432' };
const read = (options: unknown, platform: 'linux' | 'win32' = 'linux') => readForwardOptions(options, 'options', platform);

/** The error read() throws, for its class, code and message. */
function failure(options: unknown, platform: 'linux' | 'win32' = 'linux') {
  try {
    read(options, platform);
  } catch (error) {
    return error as Error & { code: string };
  }
  throw new Error(`${JSON.stringify(options)} was accepted`);
}

describe('forward options', () => {
  it('fills the defaults: a cap of 256, a 10 s connect timeout and drain, no idle timeout, no redial, a name from the ends', () => {
    expect(FORWARD_DEFAULTS).toEqual({ maxConnections: 256, connectTimeout: 10_000, drainTimeout: 10_000 });
    expect(read(base)).toEqual({
      name: 'tcp:2222 -> tcp:db:5432',
      listen: { kind: 'tcp', text: 'tcp:2222', host: '127.0.0.1', port: 2222 },
      target: { kind: 'tcp', text: 'tcp:db:5432', host: 'db', port: 5432 },
      allow: undefined,
      maxConnections: 256,
      connectTimeout: 10_000,
      redial: undefined,
      idleTimeout: 0,
      drainTimeout: 10_000,
      backlog: undefined,
      lookups: undefined,
    });
  });

  it('takes every option, the name trimmed and redial as a number or a schedule', () => {
    const lookups = { vmId: async () => 'x', wslVmId: async () => 'y' };
    const rule = read({ ...base, name: '  web  ', maxConnections: 1, connectTimeout: 1, redial: 5000, idleTimeout: 60_000, drainTimeout: 0, backlog: 16, lookups });
    expect(rule).toMatchObject({ name: 'web', maxConnections: 1, connectTimeout: 1, idleTimeout: 60_000, drainTimeout: 0, backlog: 16, lookups });
    expect(rule.redial).toMatchObject({ timeout: 5000 });
    expect(read({ ...base, redial: { timeout: 1000, initialDelay: 10, maxDelay: 50 } }).redial).toMatchObject({ timeout: 1000, initialDelay: 10, maxDelay: 50 });
  });

  it('an hvsock listen end requires an allowlist ("any" said), and only it takes one', () => {
    const missing = failure({ listen: 'any:5000', target: 'tcp:80' });
    expect(missing).toBeInstanceOf(TypeError);
    expect(missing.code).toBe('ERR_MISSING_OPTION');
    expect(missing.message).toMatch(/^options\.allow is required: any:5000 takes connections from other machines, so name the peers to let in .*; write any to let every peer in$/);
    expect(read({ listen: 'any:5000', target: 'tcp:80', allow: 'any' }).allow).toEqual([{ kind: 'any' }]);
    expect(read({ listen: 'fd:3', target: 'tcp:80', allow: ['3'] }).allow).toEqual([{ kind: 'cid', cid: 3, text: '3' }]);
    const stray = failure({ ...base, allow: 'any' });
    expect(stray.code).toBe('ERR_INVALID_ARG_VALUE');
    expect(stray.message).toMatch(/^The property 'options\.allow' filters hvsock peers, and tcp:2222 is not an hvsock listen end/);
    expect(failure({ listen: 'any:5000', target: 'tcp:80', allow: ['3', 'x'] }).message).toMatch(/^The property 'options\.allow\[1\]' is not a peer/);
  });

  it('listen and target are required, as ERR_MISSING_OPTION with what to write', () => {
    expect(failure({}).message).toBe('options.listen is required: say where clients connect, e.g. tcp:2222 or any:5000');
    expect(failure({ listen: 'tcp:1' }).message).toBe('options.target is required: say where connections go, e.g. parent:22 or tcp:localhost:80');
    expect(failure({}).code).toBe('ERR_MISSING_OPTION');
    expect(failure({ listen: 'tcp:1', target: 'fd:3' }).message).toMatch(/^The property 'options\.target' is an inherited listening socket/);
  });

  it('not an object, or an option it does not take: ERR_INVALID_ARG_TYPE / ERR_INVALID_ARG_VALUE', () => {
    for (const bad of [undefined, null, 'tcp:1', [base]]) {
      expect(failure(bad), String(bad)).toEqual(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    }
    const e = failure({ ...base, timeout: 5 });
    expect(e.code).toBe('ERR_INVALID_ARG_VALUE');
    expect(e.message).toMatch(/^The property 'options\.timeout' is not an option of a forward: it takes listen, target, name, allow, maxConnections, connectTimeout, redial, idleTimeout, drainTimeout, backlog, lookups\. Received 5$/);
  });

  it('numbers: a TypeError for a wrong type, a RangeError (ERR_OUT_OF_RANGE) out of range or not whole', () => {
    const cases: Array<[string, unknown, 'ERR_INVALID_ARG_TYPE' | 'ERR_OUT_OF_RANGE']> = [
      ['maxConnections', '5', 'ERR_INVALID_ARG_TYPE'],
      ['maxConnections', 0, 'ERR_OUT_OF_RANGE'],
      ['maxConnections', 1_000_001, 'ERR_OUT_OF_RANGE'],
      ['maxConnections', 1.5, 'ERR_OUT_OF_RANGE'],
      ['connectTimeout', 0, 'ERR_OUT_OF_RANGE'],
      ['connectTimeout', 2 ** 31, 'ERR_OUT_OF_RANGE'],
      ['idleTimeout', -1, 'ERR_OUT_OF_RANGE'],
      ['idleTimeout', '60', 'ERR_INVALID_ARG_TYPE'],
      ['drainTimeout', 2 ** 31, 'ERR_OUT_OF_RANGE'],
      ['drainTimeout', Number.NaN, 'ERR_OUT_OF_RANGE'],
      ['backlog', 0, 'ERR_OUT_OF_RANGE'],
      ['backlog', 65_536, 'ERR_OUT_OF_RANGE'],
      ['redial', -5, 'ERR_OUT_OF_RANGE'],
      ['redial', 'soon', 'ERR_INVALID_ARG_TYPE'],
    ];
    for (const [field, value, code] of cases) {
      const e = failure({ ...base, [field]: value });
      expect(e.code, `${field}: ${String(value)}`).toBe(code);
      expect(e, `${field}: ${String(value)}`).toBeInstanceOf(code === 'ERR_OUT_OF_RANGE' ? RangeError : TypeError);
      expect(e.message, `${field}: ${String(value)}`).toContain(`"options.${field}`);
    }
    expect(read({ ...base, idleTimeout: 0, drainTimeout: 0, redial: 0 }).idleTimeout).toBe(0);
    expect(read({ ...base, maxConnections: 1_000_000, connectTimeout: 2 ** 31 - 1 }).maxConnections).toBe(1_000_000);
  });

  it('name: a string of 1 to 100 characters on one line', () => {
    expect(failure({ ...base, name: 5 }).code).toBe('ERR_INVALID_ARG_TYPE');
    for (const bad of ['', '   ', 'a\nb', 'a\rb', 'x'.repeat(101)]) {
      expect(failure({ ...base, name: bad }).message, JSON.stringify(bad)).toMatch(/^The property 'options\.name' must be 1 to 100 characters on one line/);
    }
    expect(read({ ...base, name: 'x'.repeat(100) }).name).toHaveLength(100);
  });

  it('lookups: an object with vmId() and wslVmId()', () => {
    expect(failure({ ...base, lookups: 5 }).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(failure({ ...base, lookups: { vmId: () => 'x' } }).message).toMatch(/^The property 'options\.lookups' must have vmId\(name\) and wslVmId\(\) functions/);
  });

  it('a tcp: target that is the listen end itself is a loop, localhost included', () => {
    for (const [listen, target] of [
      ['tcp:2222', 'tcp:2222'],
      ['tcp:2222', 'tcp:127.0.0.1:2222'],
      ['tcp:127.0.0.1:2222', 'tcp:LOCALHOST:2222'],
      ['tcp:[::1]:2222', 'tcp:localhost:2222'],
      ['tcp:0.0.0.0:2222', 'tcp:0.0.0.0:2222'],
    ]) {
      const e = failure({ listen, target });
      expect(e.message, `${listen} ${target}`).toBe(`The property 'options.target' is the listen end itself (${listen}): every connection would loop. Received '${target}'`);
    }
    // Another host, another port, or both loopbacks apart: not the same socket.
    for (const [listen, target] of [
      ['tcp:2222', 'tcp:2223'],
      ['tcp:2222', 'tcp:db:2222'],
      ['tcp:2222', 'tcp:[::1]:2222'],
    ]) {
      expect(read({ listen, target }).target.text).toBe(target);
    }
  });

  it('ends are checked for the platform given: unix: on Linux, pipe: on Windows', () => {
    expect(read({ listen: 'unix:/run/a.sock', target: 'tcp:80' }, 'linux').listen.kind).toBe('unix');
    expect(failure({ listen: 'unix:/run/a.sock', target: 'tcp:80' }, 'win32').message).toMatch(/Node does not offer on Windows: write pipe:NAME/);
    expect(read({ listen: 'pipe:a', target: 'tcp:80' }, 'win32').listen).toEqual({ kind: 'pipe', text: 'pipe:a', path: '\\\\.\\pipe\\a' });
    expect(failure({ listen: 'pipe:a', target: 'tcp:80' }, 'linux').message).toMatch(/on Linux write unix:PATH/);
    expect(read({ listen: 'tcp:2222', target: 'vm:MyVM:22' }, 'win32').target).toMatchObject({ kind: 'vm', vmName: 'MyVM' });
  });
});

describe('forward config files', () => {
  const config = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));
  /** The one-line message a file gets, or null when it is accepted. */
  function problem(value: unknown, platform: 'linux' | 'win32' = 'linux'): string {
    try {
      readForwardConfig(config(value), 'fw.json', platform);
    } catch (error) {
      expect(error).toBeInstanceOf(ForwardConfigError);
      expect((error as ForwardConfigError).code).toBe('ERR_INVALID_ARG_VALUE');
      const message = (error as Error).message;
      expect(message.split('\n')).toHaveLength(1);
      return message;
    }
    throw new Error(`${config(value)} was accepted`);
  }
  const rule = (extra: object = {}) => ({ listen: 'tcp:2222', target: 'tcp:db:22', ...extra });

  it('reads every rule, checked, with the options as written', () => {
    const forwards = [rule({ name: 'ssh', maxConnections: 4 }), { listen: 'any:5000', target: 'tcp:80', allow: ['3', 'parent'] }, { listen: 'unix:/run/x.sock', target: 'tcp:81' }];
    const { options, rules } = readForwardConfig(JSON.stringify({ $schema: 'https://example/forward.json', forwards }), 'fw.json', 'linux');
    expect(options).toEqual(forwards);
    expect(rules.map((r) => r.name)).toEqual(['ssh', 'any:5000 -> tcp:80', 'unix:/run/x.sock -> tcp:81']);
    expect(rules[0]?.maxConnections).toBe(4);
    expect(rules[1]?.allow).toHaveLength(2);
  });

  it('the file itself: not JSON, not an object, no rules, a setting it does not have', () => {
    expect(problem('{"forwards": [')).toMatch(/^fw\.json: not JSON: /);
    for (const bad of ['[]', 'null', '5', '"x"']) {
      expect(problem(bad), bad).toBe('fw.json: must be an object with a "forwards" array, e.g. {"forwards": [{"listen": "tcp:2222", "target": "parent:22"}]}');
    }
    for (const bad of [{}, { forwards: [] }, { forwards: {} }, { forwards: 'tcp:1 tcp:2' }]) {
      expect(problem(bad), JSON.stringify(bad)).toBe('fw.json: "forwards" must be a non-empty array of rules, each {"listen": ..., "target": ...}');
    }
    expect(problem({ forwards: [rule()], rules: [] })).toBe('fw.json: "rules" is not a setting: the file has one, "forwards"');
  });

  it('a rule\'s error names the file, the rule (by number and name) and the field as the file spells it', () => {
    expect(problem({ forwards: [rule(), { name: 'b', listen: 'tcp:1' }] })).toBe(
      'fw.json: rule 2 ("b"): "target" is required: say where connections go, e.g. parent:22 or tcp:localhost:80',
    );
    expect(problem({ forwards: [{ target: 'tcp:1' }] })).toBe('fw.json: rule 1: "listen" is required: say where clients connect, e.g. tcp:2222 or any:5000');
    expect(problem({ forwards: [rule({ maxConnections: 0 })] })).toBe('fw.json: rule 1: The value of "maxConnections" is out of range. It must be >= 1 && <= 1000000. Received 0');
    expect(problem({ forwards: [rule({ idleTimeout: '60' })] })).toBe('fw.json: rule 1: The "idleTimeout" property must be of type number. Received type string (\'60\')');
    expect(problem({ forwards: [rule({ redial: { timeout: -1 } })] })).toMatch(/^fw\.json: rule 1: The value of "redial\.timeout" is out of range/);
    expect(problem({ forwards: [rule({ bogus: 1 })] })).toMatch(/^fw\.json: rule 1: "bogus" is not an option of a forward: it takes listen, .* \(got 1\)$/);
    expect(problem({ forwards: [rule({ listen: 'tcp:x' })] })).toBe('fw.json: rule 1: "listen" has TCP port "x": write a number from 0 to 65535 (got \'tcp:x\')');
    expect(problem({ forwards: [rule({ allow: 'any' })] })).toMatch(/^fw\.json: rule 1: "allow" filters hvsock peers, and tcp:2222 is not an hvsock listen end .* \(got 'any'\)$/);
    expect(problem({ forwards: [{ name: 'in', listen: 'any:5', target: 'tcp:2' }] })).toMatch(/^fw\.json: rule 1 \("in"\): "allow" is required: any:5 takes connections/);
    expect(problem({ forwards: [{ listen: 'any:5', target: 'tcp:2', allow: ['3', 'x'] }] })).toMatch(/^fw\.json: rule 1: "allow\[1\]" is not a peer: .* \(got 'x'\)$/);
  });

  it('ends are checked for the platform: pipe: on Linux and unix: on Windows are errors naming the rule', () => {
    expect(problem({ forwards: [rule({ listen: 'pipe:x' })] }, 'linux')).toBe('fw.json: rule 1: "listen" is a Windows named pipe: on Linux write unix:PATH (got \'pipe:x\')');
    expect(problem({ forwards: [rule(), rule({ listen: 'unix:/x' })] }, 'win32')).toMatch(/^fw\.json: rule 2: "listen" is a Unix domain socket, which Node does not offer on Windows/);
    expect(readForwardConfig(config({ forwards: [rule({ listen: 'pipe:x' })] }), 'fw.json', 'win32').rules[0]?.listen.kind).toBe('pipe');
  });

  it('two rules with one name, or listening on one end, are refused naming both', () => {
    expect(problem({ forwards: [rule({ name: 'web' }), rule({ name: 'web', listen: 'tcp:2223' })] })).toBe('fw.json: rule 2 ("web"): the name "web" is rule 1\'s too; names must differ');
    // Default names are the ends: two identical rules clash by name first.
    expect(problem({ forwards: [rule(), rule()] })).toMatch(/^fw\.json: rule 2: the name "tcp:2222 -> tcp:db:22" is rule 1's too/);
    expect(problem({ forwards: [rule(), rule({ listen: 'tcp:127.0.0.1:2222', target: 'tcp:db:23' })] })).toBe('fw.json: rule 2: listens on tcp:127.0.0.1:2222, as rule 1 does');
    expect(problem({ forwards: [rule({ listen: 'unix:/a' }), rule({ listen: 'unix:/a', target: 'tcp:b:1' })] })).toBe('fw.json: rule 2: listens on unix:/a, as rule 1 does');
    expect(problem({ forwards: [rule({ listen: 'pipe:a' }), rule({ listen: 'pipe:\\\\.\\pipe\\a', target: 'tcp:b:1' })] }, 'win32')).toMatch(/^fw\.json: rule 2: listens on pipe:\\\\\.\\pipe\\a, as rule 1 does$/);
    // Another host on the same port is another end.
    expect(readForwardConfig(config({ forwards: [rule(), rule({ listen: 'tcp:0.0.0.0:2222', target: 'tcp:db:23' })] }), 'fw.json', 'linux').rules).toHaveLength(2);
  });

  it('lookups are an API option (functions): a file cannot hold them', () => {
    expect(problem({ forwards: [rule({ name: 'x', lookups: {} })] })).toBe('fw.json: rule 1 ("x"): "lookups" is an API option (functions), not a setting a file can hold');
    expect(problem({ forwards: [rule({ lookups: null })] })).toMatch(/rule 1: "lookups" is an API option/);
  });
});
