import { describe, expect, it } from 'vitest';
import {
  AF_HYPERV,
  AF_VSOCK,
  HV_PROTOCOL_RAW,
  HVSOCKET_CONNECT_TIMEOUT,
  HVSOCKET_CONNECTED_SUSPEND,
  HVSOCKET_CONTAINER_PASSTHRU,
  HVSOCKET_HIGH_VTL,
  SO_VM_SOCKETS_CONNECT_TIMEOUT,
} from '../../../src/address/constants.js';
import { tcpLoopback } from '../../../src/transport/tcp-loopback.js';
import { normalizeConnectArgs, normalizeListenArgs } from '../../../src/net/options.js';
import { encodeTimeval, linuxPlatform, longSizeOf, platformFor, uvErrno, type SocketOption } from '../../../src/transport/platform.js';

const summary = (options: SocketOption[]) => options.map((o) => [o.level, o.name, o.value.length, o.value.readUInt32LE(0)]);

describe('socket platforms', () => {
  it('Linux speaks AF_VSOCK and encodes the connect timeout as a timeval of two longs of this process', () => {
    const linux = platformFor('linux');
    expect([linux.family, linux.protocol]).toEqual([AF_VSOCK, 0]);
    const [opt, ...rest] = linux.socketOptions({ connectTimeout: 2500 });
    expect(rest).toEqual([]);
    expect(opt?.level).toBe(AF_VSOCK);
    expect(opt?.name).toBe(SO_VM_SOCKETS_CONNECT_TIMEOUT);
    expect(opt?.value).toEqual(encodeTimeval(2500, longSizeOf(process.arch)));
    expect(linux.socketOptions({})).toEqual([]);
  });

  it('a long is 4 bytes on the 32-bit architectures and 8 on the 64-bit ones', () => {
    for (const arch of ['arm', 'ia32', 'mipsel', 'mips', 'ppc', 's390']) expect([arch, longSizeOf(arch)]).toEqual([arch, 4]);
    for (const arch of ['x64', 'arm64', 'ppc64', 's390x', 'riscv64', 'loong64', 'mips64el']) expect([arch, longSizeOf(arch)]).toEqual([arch, 8]);
  });

  it('64-bit Linux (x64, arm64): 16 bytes, seconds and microseconds as 64-bit longs', () => {
    const [opt] = linuxPlatform(() => ({ available: true }), 8).socketOptions({ connectTimeout: 2500 });
    expect(opt?.value.length).toBe(16);
    expect(opt?.value.readBigInt64LE(0)).toBe(2n);
    expect(opt?.value.readBigInt64LE(8)).toBe(500000n);
  });

  it('32-bit Linux (arm, ia32): 8 bytes, so a timeout under a second keeps its microseconds', () => {
    const linux32 = linuxPlatform(() => ({ available: true }), 4);
    const [opt] = linux32.socketOptions({ connectTimeout: 250 });
    expect(opt?.name).toBe(SO_VM_SOCKETS_CONNECT_TIMEOUT);
    expect(opt?.value.length).toBe(8);
    // What a 32-bit kernel reads (two 32-bit longs): 0 s 250000 µs, not 0 s 0 µs.
    expect([opt?.value.readInt32LE(0), opt?.value.readInt32LE(4)]).toEqual([0, 250000]);
    const [long] = linux32.socketOptions({ connectTimeout: 2_000_000_123 });
    expect([long?.value.readInt32LE(0), long?.value.readInt32LE(4)]).toEqual([2_000_000, 123000]);
    // The 64-bit encoding, read the 32-bit way, was the bug: 250 ms became 0 s, 0 µs (the kernel's 2 s default).
    const wrong = encodeTimeval(250, 8);
    expect([wrong.readInt32LE(0), wrong.readInt32LE(4)]).toEqual([0, 0]);
  });

  it('big-endian machines (s390x) get the same fields in their own byte order', () => {
    expect(encodeTimeval(1500, 8, false).readBigInt64BE(8)).toBe(500000n);
    expect(encodeTimeval(1500, 4, false).readInt32BE(0)).toBe(1);
  });

  it('Linux refuses the Windows-only Hyper-V flags when set, and accepts them unset', () => {
    const linux = platformFor('linux');
    for (const name of ['connectedSuspend', 'containerPassthru', 'highVtl'] as const) {
      expect(() => linux.socketOptions({ [name]: true })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE', message: expect.stringContaining(`options.${name}`) }),
      );
      expect(linux.socketOptions({ [name]: false })).toEqual([]);
    }
    expect(linux.acceptedSocketOptions({ connectedSuspend: false })).toEqual([]);
  });

  it('Linux reports a reset during connect as a refusal, and nothing else changes', () => {
    const linux = platformFor('linux');
    expect(linux.connectError(uvErrno('ECONNRESET'))).toBe(uvErrno('ECONNREFUSED'));
    expect(linux.connectError(uvErrno('ETIMEDOUT'))).toBe(uvErrno('ETIMEDOUT'));
  });

  it("Linux reports a send to a peer that closed (vsock's EPIPE) as node:net's reset, and nothing else changes", () => {
    const linux = platformFor('linux');
    expect(linux.writeError?.(uvErrno('EPIPE'))).toBe(uvErrno('ECONNRESET'));
    expect(linux.writeError?.(uvErrno('ENOBUFS'))).toBe(uvErrno('ENOBUFS'));
    expect(platformFor('win32').writeError).toBeUndefined();
  });

  it('Windows speaks AF_HYPERV with HV_PROTOCOL_RAW and a ULONG millisecond timeout', () => {
    const win = platformFor('win32');
    expect([win.family, win.protocol]).toEqual([AF_HYPERV, HV_PROTOCOL_RAW]);
    expect(win.maxConnectTimeout).toBe(300000);
    expect(summary(win.socketOptions({ connectTimeout: 1234 }))).toEqual([[HV_PROTOCOL_RAW, HVSOCKET_CONNECT_TIMEOUT, 4, 1234]]);
    expect(win.connectError(uvErrno('ECONNRESET'))).toBe(uvErrno('ECONNRESET'));
  });

  it('Windows turns each Hyper-V flag into its ULONG option, before the timeout', () => {
    const win = platformFor('win32');
    const all = { connectedSuspend: true, containerPassthru: true, highVtl: true, connectTimeout: 300000 };
    expect(summary(win.socketOptions(all))).toEqual([
      [HV_PROTOCOL_RAW, HVSOCKET_CONNECTED_SUSPEND, 4, 1],
      [HV_PROTOCOL_RAW, HVSOCKET_CONTAINER_PASSTHRU, 4, 1],
      [HV_PROTOCOL_RAW, HVSOCKET_HIGH_VTL, 4, 1],
      [HV_PROTOCOL_RAW, HVSOCKET_CONNECT_TIMEOUT, 4, 300000],
    ]);
    expect(win.socketOptions({ connectedSuspend: false, highVtl: false })).toEqual([]);
    // Accepted sockets carry connectedSuspend themselves; the others are the listener's business.
    expect(summary(win.acceptedSocketOptions(all))).toEqual([[HV_PROTOCOL_RAW, HVSOCKET_CONNECTED_SUSPEND, 4, 1]]);
    expect(win.acceptedSocketOptions({ containerPassthru: true })).toEqual([]);
  });

  it('validates the Hyper-V flags as booleans in connect and listen arguments', () => {
    for (const name of ['connectedSuspend', 'containerPassthru', 'highVtl']) {
      expect(() => normalizeConnectArgs([{ port: 1, [name]: 1 }], 1000)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE', message: expect.stringContaining(`"options.${name}"`) }),
      );
      expect(() => normalizeListenArgs([{ port: 1, [name]: 'yes' }])).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
      );
    }
    expect(normalizeConnectArgs([{ port: 1, highVtl: true }], 1000)[0]).toMatchObject({ highVtl: true });
  });

  it('the Windows connect timeout is capped at HVSOCKET_CONNECT_TIMEOUT_MAX before anything is sent', () => {
    expect(() => normalizeConnectArgs([{ port: 1, connectTimeout: 300001 }], platformFor('win32').maxConnectTimeout)).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
    );
  });

  it('uvErrno knows libuv names and refuses unknown ones', () => {
    expect(uvErrno('ECONNREFUSED')).toBeLessThan(0);
    expect(() => uvErrno('ENOTANERROR')).toThrow();
  });
});

describe('the internal TCP loopback transport (test-only)', () => {
  it('encodes sockaddr_in for 127.0.0.1 and reads it back', () => {
    const { sockaddr, address } = tcpLoopback.resolve({ port: 0x1234 }, 'connect');
    expect([...sockaddr]).toEqual([2, 0, 0x12, 0x34, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(address).toEqual({ family: 'AF_INET', address: '127.0.0.1', port: 0x1234 });
    expect(tcpLoopback.decode(sockaddr)).toEqual(address);
    expect(tcpLoopback.resolve({}, 'listen').address).toMatchObject({ port: 0 });
  });

  it('refuses what is not a TCP port', () => {
    expect(() => tcpLoopback.resolve({ port: 70000 }, 'connect')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => tcpLoopback.resolve({ port: 0 }, 'connect')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => tcpLoopback.decode(Buffer.alloc(16))).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });
});
