// The shapes Socket's and Server's typed events are built from (socket-events.ts,
// server-events.ts): the listener an event map gives each event, and the one
// way around the map, for names the compiler cannot see.
import type { EventEmitter } from 'node:events';

/** Any listener: what node:events accepts for an event outside the map. */
export type AnyListener = (...args: any[]) => void; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * An event name the map cannot check: a symbol, or a name held in a variable
 * of type `string`. A string literal is never one (it resolves to `never`), so
 * a misspelt literal matches no overload and does not compile, where
 * node:net's typings accept any string.
 */
export type UntypedEvent<E extends string | symbol> = E & (string extends E ? unknown : E extends symbol ? unknown : never);

/**
 * on/once/off/emit… over an event map (see TypedEventEmitter):
 * the untyped overload comes first so that the typed one, last, is the one a
 * compiler's error message quotes (TypeScript 7 quotes only the last).
 */
export interface TypedEmitter<Events extends { [E in keyof Events]: unknown[] }> {
  on<E extends string | symbol>(event: UntypedEvent<E>, listener: AnyListener): this;
  on<E extends keyof Events>(event: E, listener: (...args: Events[E]) => void): this;
  once<E extends string | symbol>(event: UntypedEvent<E>, listener: AnyListener): this;
  once<E extends keyof Events>(event: E, listener: (...args: Events[E]) => void): this;
  addListener<E extends string | symbol>(event: UntypedEvent<E>, listener: AnyListener): this;
  addListener<E extends keyof Events>(event: E, listener: (...args: Events[E]) => void): this;
  prependListener<E extends string | symbol>(event: UntypedEvent<E>, listener: AnyListener): this;
  prependListener<E extends keyof Events>(event: E, listener: (...args: Events[E]) => void): this;
  prependOnceListener<E extends string | symbol>(event: UntypedEvent<E>, listener: AnyListener): this;
  prependOnceListener<E extends keyof Events>(event: E, listener: (...args: Events[E]) => void): this;
  off<E extends string | symbol>(event: UntypedEvent<E>, listener: AnyListener): this;
  off<E extends keyof Events>(event: E, listener: (...args: Events[E]) => void): this;
  removeListener<E extends string | symbol>(event: UntypedEvent<E>, listener: AnyListener): this;
  removeListener<E extends keyof Events>(event: E, listener: (...args: Events[E]) => void): this;
  emit<E extends string | symbol>(event: UntypedEvent<E>, ...args: Parameters<AnyListener>): boolean;
  emit<E extends keyof Events>(event: E, ...args: Events[E]): boolean;
}

/**
 * EventEmitter with TypedEmitter's methods, as a base class:
 * `class X extends (EventEmitter as new () => TypedEventEmitter<XEvents>)`.
 */
export type TypedEventEmitter<Events extends { [E in keyof Events]: unknown[] }> = Omit<EventEmitter, keyof TypedEmitter<Events>> & TypedEmitter<Events>;
