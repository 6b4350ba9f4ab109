// The shapes Socket's and Server's typed events are built from (socket-events.ts,
// server-events.ts): the listener an event map gives each event, and the one
// way around the map, for names the compiler cannot see.

/** Any listener: what node:events accepts for an event outside the map. */
export type AnyListener = (...args: any[]) => void; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * An event name the map cannot check: a symbol, or a name held in a variable
 * of type `string`. A string literal is never one (it resolves to `never`), so
 * a misspelt literal matches no overload and does not compile, where
 * node:net's typings accept any string.
 */
export type UntypedEvent<E extends string | symbol> = E & (string extends E ? unknown : E extends symbol ? unknown : never);
