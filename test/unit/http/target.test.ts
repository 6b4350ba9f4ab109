// hvsock/http's targets: read as hvsock forward reads a target end, checked
// before any request: exactly one of target and resolve, hvsock ends only.
import { describe, expect, it } from 'vitest';
import { readHttpEnd, readTargetOptions } from '../../../src/http/target.js';
import { HvAgent } from '../../../src/http/agent.js';

describe('hvsock/http targets', () => {
  it('reads an hvsock address or, on Windows, vm:NAME:PORT', () => {
    expect(readHttpEnd('parent:5000', 'options.target')).toMatchObject({ kind: 'hvsock', address: { port: 5000 } });
    expect(readTargetOptions({ target: '3:80' }).target).toMatchObject({ kind: 'hvsock', address: { cid: 3, port: 80 } });
    const resolve = (host: string, port: number): string => `vm:${host}:${port}`;
    expect(readTargetOptions({ resolve })).toEqual({ resolve });
  });

  it('refuses TCP and unix ends, which node:http reaches on its own', () => {
    expect(() => readHttpEnd('tcp:localhost:80', 'options.target')).toThrow(/node:http reaches TCP and unix sockets without hvsock/);
    expect(() => readHttpEnd('unix:/run/x.sock', 'options.target')).toThrow(/not an hvsock address/);
  });

  it('wants exactly one of target and resolve, and a function for resolve', () => {
    expect(() => readTargetOptions({})).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => readTargetOptions({ target: 'parent:80', resolve: () => 'parent:80' })).toThrow(/but not both/);
    expect(() => readTargetOptions({ resolve: 'parent:80' as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
  });

  it('HvAgent checks its options when made, before any request', () => {
    expect(() => new HvAgent({ target: 'any:80' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => new HvAgent({ target: 'parent:80', connectTimeout: 0 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => new HvAgent({ target: 'parent:80', redial: -1 })).toThrow(RangeError);
    expect(new HvAgent({ target: 'parent:80', keepAlive: true, maxSockets: 4 }).maxSockets).toBe(4);
  });
});
