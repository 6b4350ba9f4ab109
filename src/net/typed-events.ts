// Typed events for Socket, Server and Forwarder, one mechanism for all three:
// each extends its Node base class seen through typedDuplex() or
// typedEventEmitter() (the class itself, only its type changes), whose instances
// declare on/once/off/emit… over the class's event map (socket-events.ts,
// server-events.ts, forwarder.ts). A misspelt event name or a listener of the
// wrong shape does not compile; symbols and names held in `string` variables
// stay untyped, as in node:events (whose typings accept any string).
//
// Why two interfaces with the same overloads rather than one: the overloads
// must be the instance's own declarations, with the base class's other
// methods kept as they are. An interface that extends both the base and a
// shared overload interface is an error (TS2320: their `on`s differ), and
// `Omit<Duplex, 'on' | …>` turns the base's methods into properties whose
// `this` is Duplex (setEncoding() would return a Duplex, and a subclass could
// not override them as methods).
import type { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';

/** Any listener: what node:events accepts for an event outside the map. */
export type AnyListener = (...args: any[]) => void; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * An event name the map cannot check: a symbol, or a name held in a variable
 * of type `string`. A string literal is never one (it resolves to `never`), so
 * a misspelt literal matches no overload and does not compile, where
 * node:net's typings accept any string.
 */
export type UntypedEvent<E extends string | symbol> = E & (string extends E ? unknown : E extends symbol ? unknown : never);

/** An event map: each event's name and the arguments its listeners get. */
export type EventMap<Events> = { [E in keyof Events]: unknown[] };

// In both interfaces the untyped overload comes first so that the typed one,
// last, is the one a compiler's error message quotes (TypeScript 7 quotes
// only the last).

/** EventEmitter whose events are `Events`. */
export interface TypedEventEmitter<Events extends EventMap<Events>> extends EventEmitter {
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

/** Duplex whose events are `Events` (TypedEventEmitter's overloads, over Duplex). */
export interface TypedDuplex<Events extends EventMap<Events>> extends Duplex {
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
 * The base class `Base` with its instances typed as `Instance` (a
 * TypedEventEmitter or TypedDuplex); its statics (Duplex.from,
 * EventEmitter.defaultMaxListeners…) stay.
 */
export type Typed<Base extends abstract new (...args: any) => any, Instance> = Omit<Base, 'prototype'> & // eslint-disable-line @typescript-eslint/no-explicit-any
  (new (...args: ConstructorParameters<Base>) => Instance);

/** `class Server extends typedEventEmitter<ServerEvents>(EventEmitter)`: EventEmitter itself, typed. */
export function typedEventEmitter<Events extends EventMap<Events>>(Base: typeof EventEmitter): Typed<typeof EventEmitter, TypedEventEmitter<Events>> {
  return Base as Typed<typeof EventEmitter, TypedEventEmitter<Events>>;
}

/** `class Socket extends typedDuplex<SocketEvents>(Duplex)`: Duplex itself, typed. */
export function typedDuplex<Events extends EventMap<Events>>(Base: typeof Duplex): Typed<typeof Duplex, TypedDuplex<Events>> {
  return Base as unknown as Typed<typeof Duplex, TypedDuplex<Events>>;
}
