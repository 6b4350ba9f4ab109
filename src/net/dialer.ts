// The connecting half of Socket: connect attempts, each on a new OS socket,
// and, with the `redial` option, the wait and the next attempt after a
// transient failure until the deadline (redial.ts decides which failures and
// how long to wait). The Socket owns the OS socket once an attempt opens it
// and is told how the dial ends: connected, or the error to destroy it with.
import { performance } from 'node:perf_hooks';
import type { HvSocketAddress } from '../address/address.js';
import { errorAddress } from '../address/address.js';
import { systemError } from '../errors/errors.js';
import { loadBinding, type NativeHandle } from '../transport/native.js';
import { applySocketOptions, type SocketOption, type SocketPlatform } from '../transport/platform.js';
import { isTransientConnectError, nextRedial, type RedialEvent, type RedialSchedule } from './redial.js';

/** Where and how to connect: what every attempt needs. */
export interface DialTarget {
  platform: SocketPlatform;
  /** The peer, for error messages and platform.checkTarget. */
  address: HvSocketAddress;
  sockaddr: Uint8Array;
  socketOptions: readonly SocketOption[];
  redial: RedialSchedule | null;
}

/** What the dialer needs of its Socket. */
export interface DialingSocket {
  readonly destroyed: boolean;
  /** The socket's OS socket now: an attempt's late callbacks count only while it is theirs. */
  readonly handle: NativeHandle | null;
  /** Makes an attempt's new OS socket the socket's own. */
  attach(handle: NativeHandle): void;
  /** Closes a failed attempt's OS socket before the wait. */
  closeHandle(): void;
  /** The attempt under way connected. */
  connected(): void;
  /** No more attempts: the socket fails with this error. */
  fail(error: Error): void;
  /** An attempt failed and the next one is scheduled ('redial' event). */
  redial(event: RedialEvent): void;
}

export class Dialer {
  readonly #target: DialTarget;
  readonly #socket: DialingSocket;
  /** performance.now() at connect(): the redial deadline counts from here. */
  readonly #started = performance.now();
  #attempts = 0;
  /** The attempt under way is the last the redial timeout allows. */
  #last = false;
  /** The wait before the next attempt; it keeps the loop alive unless the socket is unref()d. */
  #timer: NodeJS.Timeout | null = null;
  #refed: boolean;
  #cancelled = false;

  constructor(target: DialTarget, socket: DialingSocket, refed: boolean) {
    this.#target = target;
    this.#socket = socket;
    this.#refed = refed;
  }

  /** Makes the first attempt. */
  start(): void {
    this.#attempt();
  }

  /** Stops dialing: no further attempt, no wait left holding the loop. */
  cancel(): void {
    this.#cancelled = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  ref(): void {
    this.#refed = true;
    this.#timer?.ref();
  }

  unref(): void {
    this.#refed = false;
    this.#timer?.unref();
  }

  /** One connect attempt, on a new OS socket. */
  #attempt(): void {
    if (this.#cancelled) return;
    const { platform, address, sockaddr, socketOptions } = this.#target;
    this.#timer = null;
    this.#attempts++;
    const refused = platform.checkTarget?.(address);
    if (refused) return void process.nextTick(() => this.#attemptFailed(refused));
    const handle = new (loadBinding().SocketHandle)();
    let err = handle.open(platform.family, platform.protocol);
    if (err < 0) return this.#attemptFailedSoon(err, 'socket', handle.windowsError);
    this.#socket.attach(handle);
    err = applySocketOptions(handle, socketOptions);
    if (err < 0) return this.#attemptFailedSoon(err, 'setsockopt', handle.windowsError);
    handle.onconnect = (status) => {
      // A connect reports once; the callback would otherwise keep this
      // dialer (and its view of the socket) alive as long as the connection.
      handle.onconnect = undefined;
      if (handle === this.#socket.handle) this.#afterConnect(handle, status);
    };
    err = handle.connect(sockaddr);
    if (err < 0) return this.#attemptFailedSoon(platform.connectError(err), 'connect', handle.windowsError);
  }

  /** A failure connect() itself returned: reported on a later tick, as node:net does. */
  #attemptFailedSoon(errno: number, syscall: string, windowsError: number): void {
    const error = systemError(errno, syscall, { ...errorAddress(this.#target.address), windowsError });
    const handle = this.#socket.handle;
    process.nextTick(() => {
      if (handle === this.#socket.handle) this.#attemptFailed(error);
    });
  }

  #afterConnect(handle: NativeHandle, status: number): void {
    if (this.#socket.destroyed) return;
    if (status < 0) {
      const errno = this.#target.platform.connectError(status);
      this.#attemptFailed(systemError(errno, 'connect', { ...errorAddress(this.#target.address), windowsError: handle.windowsError }));
      return;
    }
    this.#cancelled = true;
    this.#socket.connected();
  }

  /**
   * The end of a failed attempt: another one after a wait when redialing
   * and the failure is transient and the time not up; otherwise the error.
   */
  #attemptFailed(error: NodeJS.ErrnoException): void {
    if (this.#socket.destroyed || this.#cancelled) return;
    const schedule = this.#target.redial;
    if (schedule === null) {
      this.#socket.fail(error);
      return;
    }
    const next =
      isTransientConnectError(error) && !this.#last ? nextRedial(schedule, this.#attempts, performance.now() - this.#started) : null;
    if (next === null) {
      this.#socket.fail(Object.assign(error, { attempts: this.#attempts }));
      return;
    }
    const { delay, last } = next;
    this.#last = last;
    this.#socket.closeHandle();
    this.#timer = setTimeout(() => this.#attempt(), delay);
    // As node:net, a connecting socket keeps the process alive, waits included.
    if (!this.#refed) this.#timer.unref();
    // After the timer is set: a listener may destroy() the socket, which clears it.
    this.#socket.redial({ attempt: this.#attempts, delay, error } satisfies RedialEvent);
  }
}
