// Where an HTTP request over hvsock goes: one fixed end for every request
// (`target: 'parent:5000'`, `vm:MyVM:80`, `wsl:8080`), or a resolver that
// maps the request's host and port to one (`http://myvm:5000/` →
// `vm:MyVM:5000`), so that node:http's pool keys connections per host as
// it does for TCP. Ends are read as hvsock forward reads a target, and
// names are looked up and cached as a forward's are (src/forward/lookups.ts).
import { currentPlatform } from '../address/address.js';
import { ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE } from '../errors/errors.js';
import { parseEnd, type HvsockEnd } from '../forward/ends.js';

/** Maps a request's host and port to the end it goes to over hvsock ('parent:5000', 'vm:MyVM:80'). */
export type TargetResolver = (host: string, port: number) => string | Promise<string>;

export interface TargetOptions {
  /** Every request goes here: an hvsock address ('parent:5000', '3:80', 'wsl:8080') or 'vm:NAME:PORT'. */
  target?: string;
  /** Or each request's host and port map to an end (called per new connection). */
  resolve?: TargetResolver;
}

/** An end an HTTP client may dial: hvsock ends only (TCP and unix sockets are node:http's own). */
export function readHttpEnd(text: unknown, name: string): HvsockEnd {
  const end = parseEnd(text, 'target', name, currentPlatform());
  if (end.kind !== 'hvsock' && end.kind !== 'vm') {
    throw ERR_INVALID_ARG_VALUE(name, text, 'is not an hvsock address: node:http reaches TCP and unix sockets without hvsock');
  }
  return end;
}

/** Checks the options' shape: exactly one of target and resolve; a target is read now. */
export function readTargetOptions(options: TargetOptions, name = 'options'): { target?: HvsockEnd; resolve?: TargetResolver } {
  const { target, resolve } = options;
  if ((target === undefined) === (resolve === undefined)) {
    throw ERR_INVALID_ARG_VALUE(`${name}.target`, target, `must be given, or else ${name}.resolve, but not both`);
  }
  if (resolve !== undefined) {
    if (typeof resolve !== 'function') throw ERR_INVALID_ARG_TYPE(`${name}.resolve`, 'Function', resolve);
    return { resolve };
  }
  return { target: readHttpEnd(target, `${name}.target`) };
}
