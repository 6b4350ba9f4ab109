import { describe, expect, it } from 'vitest';
import { AF_HYPERV, AF_VSOCK, HV_PROTOCOL_RAW, HVSOCKET_CONNECT_TIMEOUT, SO_VM_SOCKETS_CONNECT_TIMEOUT } from '../../src/constants.js';
import { platformFor, uvErrno } from '../../src/platform.js';

describe('socket platforms', () => {
  it('Linux speaks AF_VSOCK and encodes the connect timeout as a 64-bit timeval', () => {
    const linux = platformFor('linux');
    expect([linux.family, linux.protocol]).toEqual([AF_VSOCK, 0]);
    const opt = linux.connectTimeoutOption(2500);
    expect(opt.level).toBe(AF_VSOCK);
    expect(opt.name).toBe(SO_VM_SOCKETS_CONNECT_TIMEOUT);
    expect(opt.value.length).toBe(16);
    expect(opt.value.readBigInt64LE(0)).toBe(2n);
    expect(opt.value.readBigInt64LE(8)).toBe(500000n);
  });

  it('Linux reports a reset during connect as a refusal, and nothing else changes', () => {
    const linux = platformFor('linux');
    expect(linux.connectError(uvErrno('ECONNRESET'))).toBe(uvErrno('ECONNREFUSED'));
    expect(linux.connectError(uvErrno('ETIMEDOUT'))).toBe(uvErrno('ETIMEDOUT'));
  });

  it('Windows speaks AF_HYPERV with HV_PROTOCOL_RAW and a DWORD millisecond timeout', () => {
    const win = platformFor('win32');
    expect([win.family, win.protocol]).toEqual([AF_HYPERV, HV_PROTOCOL_RAW]);
    expect(win.maxConnectTimeout).toBe(300000);
    const opt = win.connectTimeoutOption(1234);
    expect([opt.level, opt.name, opt.value.readUInt32LE(0), opt.value.length]).toEqual([
      HV_PROTOCOL_RAW,
      HVSOCKET_CONNECT_TIMEOUT,
      1234,
      4,
    ]);
    expect(win.connectError(uvErrno('ECONNRESET'))).toBe(uvErrno('ECONNRESET'));
  });

  it('uvErrno knows libuv names and refuses unknown ones', () => {
    expect(uvErrno('ECONNREFUSED')).toBeLessThan(0);
    expect(() => uvErrno('ENOTANERROR')).toThrow();
  });
});
