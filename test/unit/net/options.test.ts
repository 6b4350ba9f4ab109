import { describe, expect, it } from 'vitest';
import {
  normalizeConnectArgs,
  normalizeListenArgs,
  validateIdleTimeout,
  validateServerOptions,
  validateSocketOptions,
} from '../../../src/net/options.js';
import { HV_GUID_PARENT, HV_GUID_WILDCARD } from '../../../src/address/constants.js';

const code = (c: string) => expect.objectContaining({ code: c });

describe('normalizeConnectArgs', () => {
  it('accepts (options[, cb]) and (port[, cid][, cb])', () => {
    const cb = (): void => {};
    expect(normalizeConnectArgs([{ cid: 1, port: 5 }, cb], 1000)).toEqual([{ cid: 1, port: 5 }, cb]);
    expect(normalizeConnectArgs([5], 1000)).toEqual([{ port: 5 }, undefined]);
    expect(normalizeConnectArgs([5, 2, cb], 1000)).toEqual([{ port: 5, cid: 2 }, cb]);
    expect(normalizeConnectArgs([5, cb], 1000)).toEqual([{ port: 5 }, cb]);
  });

  it('refuses what is neither an object, a port nor an address', () => {
    for (const bad of [null, true]) {
      expect(() => normalizeConnectArgs([bad], 1000)).toThrow(code('ERR_INVALID_ARG_TYPE'));
    }
    // Nothing to connect to at all: node:net's ERR_MISSING_ARGS, also for connect(undefined) and connect(cb).
    for (const args of [[], [undefined], [() => {}]]) {
      expect(() => normalizeConnectArgs(args, 1000)).toThrow(code('ERR_MISSING_ARGS'));
    }
    expect(() => normalizeConnectArgs(['x'], 1000)).toThrow(code('ERR_INVALID_ARG_VALUE'));
    expect(() => normalizeConnectArgs([5, true], 1000)).toThrow(code('ERR_INVALID_ARG_TYPE'));
  });

  it('takes the short form as a string, and port[, host] as node:net does', () => {
    const cb = (): void => {};
    expect(normalizeConnectArgs(['parent:5000', cb], 1000)).toEqual([{ vmId: HV_GUID_PARENT, port: 5000 }, cb]);
    expect(normalizeConnectArgs(['3:0x1388'], 1000)).toEqual([{ cid: 3, port: 5000 }, undefined]);
    expect(normalizeConnectArgs([5000, 'parent', cb], 1000)).toEqual([{ port: 5000, host: 'parent' }, cb]);
    // An IP address is refused with what to write instead, as the whole address and as a host.
    expect(() => normalizeConnectArgs(['10.0.0.5:5000'], 1000)).toThrow(/machine "10\.0\.0\.5", which is an IP address.*parent/);
    expect(() => normalizeConnectArgs(['[::1]:5000'], 1000)).toThrow(/IP address/);
  });

  it('checks connectTimeout against the platform maximum', () => {
    expect(normalizeConnectArgs([{ port: 1, connectTimeout: 300000 }], 300000)[0].connectTimeout).toBe(300000);
    expect(() => normalizeConnectArgs([{ port: 1, connectTimeout: 300001 }], 300000)).toThrow(RangeError);
    expect(() => normalizeConnectArgs([{ port: 1, connectTimeout: 0 }], 300000)).toThrow(code('ERR_OUT_OF_RANGE'));
    expect(() => normalizeConnectArgs([{ port: 1, connectTimeout: 1.5 }], 300000)).toThrow(code('ERR_OUT_OF_RANGE'));
    expect(() => normalizeConnectArgs([{ port: 1, connectTimeout: '5' }], 300000)).toThrow(code('ERR_INVALID_ARG_TYPE'));
  });

  it('checks bufferSize: an integer from 4096 to 2**31 - 1, on connect and listen alike', () => {
    for (const normalize of [(o: object) => normalizeConnectArgs([o], 1000)[0], (o: object) => normalizeListenArgs([o])[0]]) {
      expect(normalize({ port: 1, bufferSize: 4096 }).bufferSize).toBe(4096);
      expect(normalize({ port: 1, bufferSize: 2 ** 31 - 1 }).bufferSize).toBe(2 ** 31 - 1);
      for (const bad of [4095, 0, -1, 2 ** 31, 65536.5, NaN, Infinity]) {
        expect(() => normalize({ port: 1, bufferSize: bad })).toThrow(code('ERR_OUT_OF_RANGE'));
        expect(() => normalize({ port: 1, bufferSize: bad })).toThrow(RangeError);
      }
      for (const bad of ['65536', 65536n, null, {}]) {
        expect(() => normalize({ port: 1, bufferSize: bad })).toThrow(code('ERR_INVALID_ARG_TYPE'));
        expect(() => normalize({ port: 1, bufferSize: bad })).toThrow(TypeError);
      }
      expect(() => normalize({ port: 1, bufferSize: 1 })).toThrow(/"options\.bufferSize".*>= 4096 && <= 2147483647/);
    }
  });

  it('checks timeout, signal and allowHalfOpen', () => {
    expect(() => normalizeConnectArgs([{ port: 1, timeout: -1 }], 1)).toThrow(code('ERR_OUT_OF_RANGE'));
    expect(() => normalizeConnectArgs([{ port: 1, timeout: 'soon' }], 1)).toThrow(code('ERR_INVALID_ARG_TYPE'));
    expect(() => normalizeConnectArgs([{ port: 1, signal: {} }], 1)).toThrow(code('ERR_INVALID_ARG_TYPE'));
    expect(() => normalizeConnectArgs([{ port: 1, allowHalfOpen: 1 }], 1)).toThrow(code('ERR_INVALID_ARG_TYPE'));
    const signal = new AbortController().signal;
    expect(normalizeConnectArgs([{ port: 1, signal, timeout: 0, allowHalfOpen: true }], 1)[0].signal).toBe(signal);
  });
});

describe('normalizeListenArgs', () => {
  it('accepts (options[, cb]), (port[, backlog][, cb]) and ([cb])', () => {
    const cb = (): void => {};
    expect(normalizeListenArgs([])).toEqual([{ port: 0 }, undefined]);
    expect(normalizeListenArgs([cb])).toEqual([{ port: 0 }, cb]);
    expect(normalizeListenArgs([7, 20, cb])).toEqual([{ port: 7, backlog: 20 }, cb]);
    expect(normalizeListenArgs([{ fd: 3 }])).toEqual([{ fd: 3 }, undefined]);
  });

  it('takes the short form as a string, and port[, host][, backlog] as node:net does', () => {
    const cb = (): void => {};
    expect(normalizeListenArgs(['any:5000', cb])).toEqual([{ vmId: HV_GUID_WILDCARD, port: 5000 }, cb]);
    expect(normalizeListenArgs(['5000', 12])).toEqual([{ port: 5000, backlog: 12 }, undefined]);
    expect(normalizeListenArgs(['wsl:5000'])).toEqual([{ wsl: true, port: 5000 }, undefined]);
    expect(normalizeListenArgs([5000, 'children', 9, cb])).toEqual([{ port: 5000, host: 'children', backlog: 9 }, cb]);
    expect(normalizeListenArgs([5000, 'any', cb])).toEqual([{ port: 5000, host: 'any' }, cb]);
  });

  it('refuses bad backlog, fd and signal values', () => {
    expect(() => normalizeListenArgs([{ port: 1, backlog: -1 }])).toThrow(code('ERR_OUT_OF_RANGE'));
    expect(() => normalizeListenArgs([{ fd: -1 }])).toThrow(code('ERR_OUT_OF_RANGE'));
    expect(() => normalizeListenArgs([{ fd: '3' }])).toThrow(code('ERR_INVALID_ARG_TYPE'));
    expect(() => normalizeListenArgs([{ port: 1, signal: 'x' }])).toThrow(code('ERR_INVALID_ARG_TYPE'));
    expect(() => normalizeListenArgs(['localhost:5000'])).toThrow(/host name: for this machine write loopback/);
    expect(() => normalizeListenArgs([true])).toThrow(code('ERR_INVALID_ARG_TYPE'));
  });
});

describe('constructor options', () => {
  it('validate types and accept undefined', () => {
    expect(validateSocketOptions(undefined)).toEqual({});
    expect(validateServerOptions(undefined)).toEqual({});
    expect(() => validateSocketOptions('x')).toThrow(code('ERR_INVALID_ARG_TYPE'));
    expect(() => validateSocketOptions({ allowHalfOpen: 'yes' })).toThrow(code('ERR_INVALID_ARG_TYPE'));
    expect(() => validateServerOptions({ pauseOnConnect: 1 })).toThrow(code('ERR_INVALID_ARG_TYPE'));
  });

  it('idle timeouts are node timer durations', () => {
    expect(validateIdleTimeout(0)).toBe(0);
    expect(validateIdleTimeout(1500)).toBe(1500);
    expect(() => validateIdleTimeout(2 ** 31)).toThrow(RangeError);
    expect(() => validateIdleTimeout(NaN)).toThrow(RangeError);
  });
});
