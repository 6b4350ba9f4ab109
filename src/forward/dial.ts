// Opening the target end of one forwarded connection: resolve what has to be
// looked up (a VM by name, WSL's VM ID), connect with a deadline, and, with
// `redial`, try again while the target is not there yet (a VM booting after
// the host's forward started). Each attempt is a fresh socket.
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as hvsockConnect } from '../net/api.js';
import { isTransientConnectError, nextRedial, type RedialSchedule } from '../net/redial.js';
import type { AddressInput } from '../address/address.js';
import { systemError, uvErrno } from '../errors/errors.js';
import type { ForwardEnd, HvsockEnd } from './ends.js';
import type { Lookups } from './lookups.js';

/** A connected socket of either library: both count bytes and can be reset. */
export type EndSocket = Duplex & { bytesRead?: number; resetAndDestroy?: () => unknown; setTimeout(ms: number): unknown; setNoDelay?: (noDelay: boolean) => unknown };

export interface DialOptions {
  /** Give up one attempt after this many ms (ETIMEDOUT). */
  connectTimeout: number;
  /** Keep trying a refused / unreachable / timed-out / missing target until this schedule runs out. */
  redial: RedialSchedule | undefined;
  /** Aborted when the client leaves first: no attempt survives it. */
  signal: AbortSignal;
  lookups: Lookups;
}

/** A unix socket or pipe that does not exist yet is "not there yet" too, for a forward. */
function isTransient(error: unknown): boolean {
  return isTransientConnectError(error) || (error as { code?: unknown } | null)?.code === 'ENOENT';
}

/** The hvsock address an hvsock or vm: end connects to now (also hvsock/http's agents'). */
export async function hvsockAddress(end: HvsockEnd, lookups: Lookups): Promise<AddressInput> {
  if (end.kind === 'vm') return { vmId: await lookups.vmId(end.vmName), ...end.service };
  if (end.address.wsl !== true) return end.address;
  const { wsl: _wsl, ...service } = end.address;
  return { ...service, vmId: await lookups.wslVmId() };
}

function timedOut(end: ForwardEnd, ms: number): Error {
  const error = systemError(uvErrno('ETIMEDOUT'), 'connect');
  error.message = `connect ETIMEDOUT ${end.text} (no answer within ${ms} ms)`;
  return error;
}

/** One attempt: resolves with the connected socket, or rejects with why not. */
async function dialOnce(end: ForwardEnd, options: DialOptions): Promise<EndSocket> {
  let socket: EndSocket;
  if (end.kind === 'hvsock' || end.kind === 'vm') {
    const address = await hvsockAddress(end, options.lookups);
    if (options.signal.aborted) throw options.signal.reason;
    // The OS's own connect timeout: vsock's and Hyper-V's defaults (2 s, 90 s) are rarely what a forward wants.
    socket = hvsockConnect({ ...address, allowHalfOpen: true, connectTimeout: options.connectTimeout });
  } else if (end.kind === 'tcp') {
    socket = net.connect({ host: end.host, port: end.port, allowHalfOpen: true });
  } else if (end.kind === 'unix' || end.kind === 'pipe') {
    socket = net.connect({ path: end.path, allowHalfOpen: true });
  } else {
    throw new Error(`${end.text} cannot be a target`);
  }
  return new Promise((resolve, reject) => {
    const done = (error: unknown): void => {
      clearTimeout(timer);
      options.signal.removeEventListener('abort', onAbort);
      socket.removeListener('error', done);
      socket.removeListener('connect', onConnect);
      if (error === null) resolve(socket);
      else {
        socket.destroy();
        reject(error);
      }
    };
    const onConnect = (): void => done(null);
    const onAbort = (): void => done(options.signal.reason);
    // TCP has no per-socket connect timeout in node:net; hvsock's is the OS's, and this is its backstop.
    const timer = setTimeout(() => done(timedOut(end, options.connectTimeout)), options.connectTimeout + (end.kind === 'tcp' ? 0 : 1000));
    socket.once('connect', onConnect);
    socket.once('error', done);
    options.signal.addEventListener('abort', onAbort, { once: true });
  });
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });

/**
 * Connects to `end`; with `redial`, again after each transient failure.
 * `onRetry` hears each failed attempt that will be retried. The rejection is
 * the last attempt's error, with `attempts` set.
 */
export async function dial(
  end: ForwardEnd,
  options: DialOptions,
  onRetry?: (attempt: number, delay: number, error: unknown) => void,
): Promise<EndSocket> {
  const started = performance.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await dialOnce(end, options);
    } catch (error) {
      if (options.signal.aborted) throw options.signal.reason;
      const next = options.redial !== undefined && isTransient(error) ? nextRedial(options.redial, attempt, performance.now() - started) : null;
      if (next === null) {
        if (error !== null && typeof error === 'object') (error as { attempts?: number }).attempts = attempt;
        throw error;
      }
      onRetry?.(attempt, next.delay, error);
      await sleep(next.delay, options.signal);
    }
  }
}
