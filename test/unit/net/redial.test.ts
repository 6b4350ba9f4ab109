import { describe, expect, it } from 'vitest';
import { waitOption } from '../../../src/cli/bridge.js';
import { EXIT_USAGE } from '../../../src/cli/exit-codes.js';
import { main } from '../../../src/cli/main.js';
import { systemError } from '../../../src/errors/errors.js';
import { normalizeConnectArgs } from '../../../src/net/options.js';
import { REDIAL_DEFAULTS, isTransientConnectError, nextRedial, redialSchedule, type RedialSchedule } from '../../../src/net/redial.js';

const code = (c: string) => expect.objectContaining({ code: c });

/**
 * When each attempt would start if every attempt failed at once: the
 * schedule the pure function implies, as the socket runs it.
 */
function attemptTimes(schedule: RedialSchedule, limit = 100): number[] {
  const starts = [0];
  for (let failed = 1; failed < limit; failed++) {
    const now = starts[starts.length - 1] as number;
    const next = nextRedial(schedule, failed, now);
    if (next === null) break;
    starts.push(now + next.delay);
    if (next.last) break;
  }
  return starts;
}

describe('redialSchedule (options.redial)', () => {
  it('fills in the defaults; a number is the timeout alone', () => {
    expect(redialSchedule(5000)).toEqual({ timeout: 5000, ...REDIAL_DEFAULTS });
    expect(redialSchedule({ timeout: 5000 })).toEqual({ timeout: 5000, initialDelay: 100, maxDelay: 1000, factor: 2 });
    expect(redialSchedule({ timeout: 0, initialDelay: 10, maxDelay: 50, factor: 1.5 })).toEqual({
      timeout: 0,
      initialDelay: 10,
      maxDelay: 50,
      factor: 1.5,
    });
    expect(redialSchedule({ timeout: Infinity }).timeout).toBe(Infinity);
  });

  it('a maxDelay below the default start lowers the start with it', () => {
    expect(redialSchedule({ timeout: 1, maxDelay: 40 })).toMatchObject({ initialDelay: 40, maxDelay: 40 });
    expect(redialSchedule({ timeout: 1, maxDelay: 5000 })).toMatchObject({ initialDelay: 100, maxDelay: 5000 });
  });

  it('refuses wrong types with ERR_INVALID_ARG_TYPE, naming the property', () => {
    for (const bad of ['5000', true, null, [1000], () => 1000]) {
      expect(() => redialSchedule(bad)).toThrow(code('ERR_INVALID_ARG_TYPE'));
    }
    expect(() => redialSchedule({})).toThrow(/"options\.redial\.timeout" property must be of type number\. Received undefined/);
    expect(() => redialSchedule({ timeout: '1s' })).toThrow(code('ERR_INVALID_ARG_TYPE'));
    expect(() => redialSchedule({ timeout: 1, initialDelay: '5' })).toThrow(/options\.redial\.initialDelay/);
    expect(() => redialSchedule({ timeout: 1, maxDelay: null })).toThrow(code('ERR_INVALID_ARG_TYPE'));
    expect(() => redialSchedule({ timeout: 1, factor: '2' })).toThrow(code('ERR_INVALID_ARG_TYPE'));
  });

  it('refuses values out of range with ERR_OUT_OF_RANGE (RangeError)', () => {
    const cases: unknown[] = [
      -1,
      NaN,
      { timeout: -1 },
      { timeout: NaN },
      { timeout: 1, initialDelay: 0 },
      { timeout: 1, initialDelay: 1001 }, // above the default maxDelay
      { timeout: 1, initialDelay: 500, maxDelay: 200 },
      { timeout: 1, maxDelay: 0 },
      { timeout: 1, maxDelay: 2 ** 31 },
      { timeout: 1, factor: 0.5 },
      { timeout: 1, factor: 101 },
      { timeout: 1, factor: NaN },
    ];
    for (const bad of cases) {
      expect(() => redialSchedule(bad), JSON.stringify(bad)).toThrow(RangeError);
      expect(() => redialSchedule(bad)).toThrow(code('ERR_OUT_OF_RANGE'));
    }
    expect(() => redialSchedule({ timeout: 1, initialDelay: 500, maxDelay: 200 })).toThrow(/<= 200 \(maxDelay\)/);
    expect(() => redialSchedule(-1)).toThrow(/The value of "options\.redial" is out of range/);
  });

  it('is checked by connect()’s argument normalization, before anything is opened', () => {
    expect(normalizeConnectArgs([{ port: 1, redial: 100 }], 1)[0].redial).toBe(100);
    expect(() => normalizeConnectArgs([{ port: 1, redial: 'forever' }], 1)).toThrow(code('ERR_INVALID_ARG_TYPE'));
    expect(() => normalizeConnectArgs([{ port: 1, redial: { timeout: -5 } }], 1)).toThrow(code('ERR_OUT_OF_RANGE'));
  });
});

describe('nextRedial (the backoff schedule)', () => {
  const schedule = redialSchedule({ timeout: Infinity });

  it('grows by the factor from initialDelay up to maxDelay', () => {
    const delays = (s: RedialSchedule, counts: number[]) => counts.map((n) => nextRedial(s, n, 0)?.delay);
    expect(delays(schedule, [1, 2, 3, 4, 5, 6, 50])).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
    expect(delays(redialSchedule({ timeout: Infinity, initialDelay: 250, factor: 1 }), [1, 2, 9])).toEqual([250, 250, 250]);
    // A huge attempt count overflows the power to Infinity: still capped.
    expect(nextRedial(schedule, 5000, 0)).toEqual({ delay: 1000, last: false });
  });

  it('lands the last attempt on the deadline and stops there', () => {
    const s = redialSchedule({ timeout: 1000 });
    expect(attemptTimes(s)).toEqual([0, 100, 300, 700, 1000]);
    expect(nextRedial(s, 3, 299)).toEqual({ delay: 400, last: false });
    expect(nextRedial(s, 4, 700)).toEqual({ delay: 300, last: true });
    // A wait that exactly reaches the deadline also makes the next attempt the last.
    expect(nextRedial(s, 3, 600)).toEqual({ delay: 400, last: true });
    expect(nextRedial(s, 5, 1000)).toBeNull();
    expect(nextRedial(s, 1, 1500)).toBeNull();
  });

  it('timeout 0 means a single attempt', () => {
    expect(attemptTimes(redialSchedule(0))).toEqual([0]);
  });

  it('waits forever with timeout Infinity, at maxDelay once grown', () => {
    const times = attemptTimes(redialSchedule({ timeout: Infinity, initialDelay: 1, maxDelay: 8 }), 10);
    expect(times).toEqual([0, 1, 3, 7, 15, 23, 31, 39, 47, 55]);
  });
});

describe('isTransientConnectError', () => {
  it('redials on refused, unreachable, timed out and network down', () => {
    for (const c of ['ECONNREFUSED', 'ENETUNREACH', 'EHOSTUNREACH', 'ETIMEDOUT', 'ENETDOWN']) {
      expect(isTransientConnectError({ code: c }), c).toBe(true);
    }
  });

  it('fails at once on everything else', () => {
    for (const c of ['EACCES', 'EPERM', 'EAFNOSUPPORT', 'EMFILE', 'EINVAL', 'ECONNRESET', 'ENODEV', 'UNKNOWN', 'ABORT_ERR']) {
      expect(isTransientConnectError({ code: c }), c).toBe(false);
    }
    expect(isTransientConnectError(undefined)).toBe(false);
    expect(isTransientConnectError(new Error('x'))).toBe(false);
  });

  it('on Windows, by the code the Windows error table gives (not by libuv’s UNKNOWN)', () => {
    // The errors go-winio redials on; the address of no importance here.
    for (const windowsError of [10061, 1225, 1201, 10051, 10060, 10050, 121]) {
      expect(isTransientConnectError(systemError(-4094, 'connect', { windowsError: windowsError })), String(windowsError)).toBe(true);
    }
    for (const windowsError of [10013, 10047, 10024]) {
      expect(isTransientConnectError(systemError(-4094, 'connect', { windowsError: windowsError })), String(windowsError)).toBe(false);
    }
  });
});

describe('hvsock connect --wait', () => {
  it('takes seconds, whole or decimal, as the redial timeout in ms', () => {
    expect(waitOption(undefined)).toBeUndefined();
    expect(waitOption('30')).toBe(30_000);
    expect(waitOption('0.5')).toBe(500);
    expect(waitOption('0')).toBe(0);
  });

  it('refuses anything else as a usage error (exit 2), before any socket exists', async () => {
    for (const bad of ['soon', '-1', '1e3', '', '2000000', '1.']) {
      expect(() => waitOption(bad), bad).toThrow(code('ERR_INVALID_ARG_VALUE'));
      const err: string[] = [];
      const status = await main(['connect', `--wait=${bad}`, '5000'], { out: () => {}, err: (t) => err.push(t) });
      expect(status, bad).toBe(EXIT_USAGE);
      expect(err.join('\n')).toBe(`hvsock connect: --wait must be a number of seconds from 0 to 1000000, got "${bad}"`);
    }
  });
});
