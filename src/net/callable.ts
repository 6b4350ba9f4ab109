// net.Socket() and net.Server() work without `new` (Node's function
// constructors check `this instanceof Socket`). JavaScript classes cannot be
// called, so the package exports each class behind a Proxy whose call trap
// constructs: `new`, `instanceof`, `extends`, statics and the prototype all
// reach the class itself, and the type is both constructable and callable.

/** A class that may also be called without `new`, which constructs it. */
export type Callable<C extends abstract new (...args: never[]) => unknown> = C &
  ((...args: ConstructorParameters<C>) => InstanceType<C>);

/** `Class` callable without `new`, as node:net's function constructors are. */
export function callable<C extends new (...args: never[]) => unknown>(Class: C): Callable<C> {
  const exported: Callable<C> = new Proxy(Class, {
    apply: (target, _thisArg, args) => new target(...(args as never[])),
    // `new Socket()` on the Proxy would make the Proxy new.target, and V8
    // caches a class's initial object shape only for a function new.target:
    // every instance got a shape (and a chain of ~27 transitions) of its own,
    // about 2.7 KiB per Socket. A subclass's own new.target passes through.
    construct: (target, args, newTarget) => Reflect.construct(target, args, newTarget === exported ? target : newTarget),
  }) as Callable<C>;
  // socket.constructor === Socket, as with node:net, for the exported Socket.
  Object.defineProperty(Class.prototype, 'constructor', { value: exported, writable: true, configurable: true, enumerable: false });
  return exported;
}
