// The `redial` connect option: which failures are worth another attempt, and
// when to make it. Pure data and functions; Socket owns the timer and the
// handles. A host often starts before the guest's service listens, and the
// reverse (a guest before its host's service, a VM rebooting under a live
// client): go-winio's HvsockDialer redials for the same reason.
import { ERR_INVALID_ARG_TYPE, ERR_OUT_OF_RANGE, type HvSocketError } from '../errors/errors.js';
import { validateNumber } from '../errors/validate.js';

/** Largest timer delay Node accepts (setTimeout's TIMEOUT_MAX). */
const TIMEOUT_MAX = 2 ** 31 - 1;
/** A larger growth factor is a typo, not a schedule. */
const FACTOR_MAX = 100;

/** The `redial` connect option spelt out: how long to keep trying, and how long to wait between attempts. */
export interface RedialOptions {
  /**
   * Keep trying for this many ms, counted from connect(): no attempt starts
   * later than that. One under way then still runs to its end, which its
   * connectTimeout bounds. `Infinity`: until connected, destroy() or the signal.
   */
  timeout: number;
  /** Wait after the first failed attempt, in ms (default 100). */
  initialDelay?: number;
  /** Longest wait between two attempts, in ms (default 1000). */
  maxDelay?: number;
  /** Each wait is this many times the one before, up to maxDelay (default 2). */
  factor?: number;
}

/** RedialOptions with every default filled in. */
export type RedialSchedule = Required<RedialOptions>;

/** The 'redial' event's argument: an attempt failed and the next one is scheduled. */
export interface RedialEvent {
  /** Which attempt failed, from 1. */
  attempt: number;
  /** Milliseconds until the next attempt. */
  delay: number;
  /** Why the attempt failed: a system error as the socket would have emitted it. */
  error: HvSocketError;
}

export const REDIAL_DEFAULTS = { initialDelay: 100, maxDelay: 1000, factor: 2 } as const;

/**
 * Checks `options.redial` and fills in the defaults: a number is the
 * timeout alone. Throws ERR_INVALID_ARG_TYPE / ERR_OUT_OF_RANGE as Node's
 * validators do.
 */
export function redialSchedule(value: unknown, name = 'options.redial'): RedialSchedule {
  if (typeof value === 'number') {
    validateNumber(value, name, 0);
    return redialSchedule({ timeout: value }, name);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw ERR_INVALID_ARG_TYPE(name, ['number', 'Object'], value);
  }
  const { timeout, initialDelay, maxDelay, factor } = value as Partial<Record<keyof RedialOptions, unknown>>;
  validateNumber(timeout, `${name}.timeout`, 0);
  if (maxDelay !== undefined) validateNumber(maxDelay, `${name}.maxDelay`, 1, TIMEOUT_MAX);
  // Only a maxDelay below the default start lowers the start with it; both
  // given and contradictory is a mistake worth saying.
  const cap = (maxDelay as number | undefined) ?? REDIAL_DEFAULTS.maxDelay;
  if (initialDelay !== undefined) {
    validateNumber(initialDelay, `${name}.initialDelay`);
    if (!(initialDelay >= 1 && initialDelay <= cap)) {
      throw ERR_OUT_OF_RANGE(`${name}.initialDelay`, `>= 1 && <= ${cap} (maxDelay)`, initialDelay);
    }
  }
  if (factor !== undefined) validateNumber(factor, `${name}.factor`, 1, FACTOR_MAX);
  return {
    timeout: timeout as number,
    initialDelay: (initialDelay as number | undefined) ?? Math.min(REDIAL_DEFAULTS.initialDelay, cap),
    maxDelay: cap,
    factor: (factor as number | undefined) ?? REDIAL_DEFAULTS.factor,
  };
}

/** When to make the next attempt. */
export interface NextAttempt {
  /** Milliseconds to wait. */
  delay: number;
  /** The wait runs to the deadline: the attempt after it is the last. */
  last: boolean;
}

/**
 * The wait before the next attempt, after `failedAttempts` (≥ 1) failures
 * and `elapsedMs` since connect(); null when the time is up. The wait grows
 * geometrically up to maxDelay and is cut short to land the last attempt on
 * the deadline, so a peer that arrives late still gets its chance. That
 * attempt is marked last rather than judged by the clock afterwards: a timer
 * may fire a moment before performance.now() reaches the deadline, and a
 * clock check would then add a pointless attempt or two.
 * No jitter: a client redials one service, not a crowd of them one server.
 */
export function nextRedial(schedule: RedialSchedule, failedAttempts: number, elapsedMs: number): NextAttempt | null {
  const remaining = schedule.timeout - elapsedMs;
  if (!(remaining > 0)) return null;
  const grown = Math.min(schedule.initialDelay * schedule.factor ** Math.max(0, failedAttempts - 1), schedule.maxDelay);
  return grown >= remaining ? { delay: remaining, last: true } : { delay: grown, last: false };
}

/**
 * Failures that say "nobody there yet" rather than "never": refused,
 * unreachable, timed out, and a network that is down (Hyper-V reports that
 * around VM reboots: docs/hyperv-facts.md#errors). Judged by `code`, which is node:net's
 * on both OSes: on Windows, src/errors/windows.ts gives the errors go-winio
 * redials on that libuv has no name for (ERROR_CONNECTION_UNAVAIL,
 * WSAENETDOWN) their code. Anything else (EACCES: not permitted;
 * EAFNOSUPPORT: no such socket family here; EMFILE, …) fails at once.
 */
const TRANSIENT_CODES = new Set(['ECONNREFUSED', 'ENETUNREACH', 'EHOSTUNREACH', 'ETIMEDOUT', 'ENETDOWN']);

export function isTransientConnectError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' && TRANSIENT_CODES.has(code);
}
