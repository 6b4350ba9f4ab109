import { describe, expect, it } from 'vitest';
import {
  AF_HYPERV,
  AF_VSOCK,
  HV_PROTOCOL_RAW,
  HVSOCKET_CONNECT_TIMEOUT,
  HVSOCKET_CONNECTED_SUSPEND,
  HVSOCKET_CONTAINER_PASSTHRU,
  HVSOCKET_HIGH_VTL,
  SO_VM_SOCKETS_BUFFER_MAX_SIZE,
  SO_VM_SOCKETS_BUFFER_SIZE,
  SO_VM_SOCKETS_CONNECT_TIMEOUT,
} from '../../../src/address/constants.js';
import type { NativeHandle } from '../../../src/transport/native.js';
import { tcpLoopback } from '../../../src/transport/tcp-loopback.js';
import { normalizeConnectArgs, normalizeListenArgs } from '../../../src/net/options.js';
import {
  applySocketOptions,
  encodeTimeval,
  linuxPlatform,
  longSizeOf,
  platformFor,
  readBufferSize,
  socketBufferOptions,
  socketLevelNumbers,
  uvErrno,
  vsockBufferOptions,
  type SocketOption,
} from '../../../src/transport/platform.js';

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

/** [level, name, bytes as hex, optional] of each option. */
const raw = (options: SocketOption[]) => options.map((o) => [o.level, o.name, o.value.toString('hex'), o.optional === true]);

describe('bufferSize, per OS', () => {
  const LINUX_SOL = [1, 7, 8] as const; // SOL_SOCKET, SO_SNDBUF, SO_RCVBUF on Linux (not MIPS)
  const WIN_SOL = [0xffff, 0x1001, 0x1002] as const;

  it('Linux: SO_VM_SOCKETS_BUFFER_SIZE as a u64, then SO_SNDBUF/SO_RCVBUF as optional C ints', () => {
    expect(raw(vsockBufferOptions(65536, 'x64', true))).toEqual([
      [AF_VSOCK, SO_VM_SOCKETS_BUFFER_SIZE, '0000010000000000', false],
      [LINUX_SOL[0], LINUX_SOL[1], '00000100', true],
      [LINUX_SOL[0], LINUX_SOL[2], '00000100', true],
    ]);
    // 256 KiB is the kernel's default maximum: up to it, MAX_SIZE is left alone.
    expect(vsockBufferOptions(256 * 1024, 'x64', true).map((o) => o.name)).toEqual([SO_VM_SOCKETS_BUFFER_SIZE, 7, 8]);
  });

  it('Linux: above 256 KiB, SO_VM_SOCKETS_BUFFER_MAX_SIZE is raised first, or the kernel would clamp the size', () => {
    const options = vsockBufferOptions(4 * 1024 * 1024, 'x64', true);
    expect(raw(options).slice(0, 2)).toEqual([
      [AF_VSOCK, SO_VM_SOCKETS_BUFFER_MAX_SIZE, '0000400000000000', false],
      [AF_VSOCK, SO_VM_SOCKETS_BUFFER_SIZE, '0000400000000000', false],
    ]);
    expect(vsockBufferOptions(2 ** 31 - 1, 'x64', true)[1]?.value.readBigUInt64LE(0)).toBe(2n ** 31n - 1n);
  });

  it('Linux: big-endian machines get the u64 and the ints in their own byte order; MIPS has its own SOL_SOCKET numbers', () => {
    expect(raw(vsockBufferOptions(65536, 's390x', false))).toEqual([
      [AF_VSOCK, SO_VM_SOCKETS_BUFFER_SIZE, '0000000000010000', false],
      [1, 7, '00010000', true],
      [1, 8, '00010000', true],
    ]);
    expect(socketLevelNumbers('linux', 'mipsel')).toEqual({ SOL_SOCKET: 0xffff, SO_SNDBUF: 0x1001, SO_RCVBUF: 0x1002 });
  });

  it('Linux: the platform sets it on connect and listen, and on every accepted socket, after the connect timeout', () => {
    const linux = linuxPlatform(() => ({ available: true }), 8);
    const names = (options: SocketOption[]) => options.map((o) => [o.level, o.name]);
    expect(names(linux.socketOptions({ connectTimeout: 1000, bufferSize: 1 << 20 }))).toEqual([
      [AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT],
      [AF_VSOCK, SO_VM_SOCKETS_BUFFER_MAX_SIZE],
      [AF_VSOCK, SO_VM_SOCKETS_BUFFER_SIZE],
      [LINUX_SOL[0], LINUX_SOL[1]],
      [LINUX_SOL[0], LINUX_SOL[2]],
    ]);
    expect(linux.acceptedSocketOptions({ bufferSize: 8192 })).toEqual(vsockBufferOptions(8192));
    expect(linux.acceptedSocketOptions({})).toEqual([]);
    expect(linux.bufferSizeOption).toEqual({ level: AF_VSOCK, name: SO_VM_SOCKETS_BUFFER_SIZE, length: 8 });
  });

  it('Windows: SO_SNDBUF and SO_RCVBUF at SOL_SOCKET, optional, on connect, listen and each accept socket', () => {
    const win = platformFor('win32');
    const expected = [
      [WIN_SOL[0], WIN_SOL[1], '00000100', true],
      [WIN_SOL[0], WIN_SOL[2], '00000100', true],
    ];
    expect(raw(win.socketOptions({ bufferSize: 65536 }))).toEqual(expected);
    expect(raw(win.acceptedSocketOptions({ bufferSize: 65536, connectedSuspend: true }))).toEqual([
      [HV_PROTOCOL_RAW, HVSOCKET_CONNECTED_SUSPEND, '01000000', false],
      ...expected,
    ]);
    expect(raw(socketBufferOptions(65536, 'win32'))).toEqual(expected);
    expect(win.bufferSizeOption).toEqual({ level: WIN_SOL[0], name: WIN_SOL[2], length: 4 });
  });

  it('the loopback-TCP transport maps it to SO_SNDBUF/SO_RCVBUF in the running OS numbering', () => {
    const sol = process.platform === 'win32' ? WIN_SOL : LINUX_SOL;
    expect(tcpLoopback.socketOptions({ bufferSize: 8192 }).map((o) => [o.level, o.name, o.optional])).toEqual([
      [sol[0], sol[1], true],
      [sol[0], sol[2], true],
    ]);
    expect(tcpLoopback.acceptedSocketOptions({ bufferSize: 8192 })).toHaveLength(2);
    expect(tcpLoopback.socketOptions({})).toEqual([]);
    expect(tcpLoopback.bufferSizeOption).toEqual({ level: sol[0], name: sol[2], length: 4 });
  });

  it('an optional option that the OS refuses does not fail the socket; any other does', () => {
    const set: number[] = [];
    const handle = {
      setsockopt: (_level: number, name: number) => (set.push(name), name === 0x1001 ? uvErrno('ENOPROTOOPT') : 0),
    } as unknown as NativeHandle;
    expect(applySocketOptions(handle, socketBufferOptions(8192, 'win32'))).toBe(0);
    expect(set).toEqual([0x1001, 0x1002]);
    expect(applySocketOptions(handle, [{ level: 0xffff, name: 0x1001, value: Buffer.alloc(4) }])).toBe(uvErrno('ENOPROTOOPT'));
  });

  it('readBufferSize reads a u64 or a C int back, and passes errors and short answers on', () => {
    const answering = (answer: Buffer | number) => ({ getsockopt: () => answer }) as unknown as NativeHandle;
    const u64 = Buffer.alloc(8);
    u64.writeBigUInt64LE(262144n);
    expect(readBufferSize(answering(u64), { level: AF_VSOCK, name: 0, length: 8 }, true)).toBe(262144);
    expect(readBufferSize(answering(Buffer.from('00000200', 'hex')), { level: 1, name: 8, length: 4 }, true)).toBe(131072);
    expect(readBufferSize(answering(Buffer.from('00020000', 'hex')), { level: 1, name: 8, length: 4 }, false)).toBe(131072);
    expect(readBufferSize(answering(uvErrno('ENOPROTOOPT')), { level: 1, name: 8, length: 4 })).toBe(uvErrno('ENOPROTOOPT'));
    expect(readBufferSize(answering(Buffer.alloc(4)), { level: AF_VSOCK, name: 0, length: 8 })).toBe(uvErrno('EINVAL'));
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
