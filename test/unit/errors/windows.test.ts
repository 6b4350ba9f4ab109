import { getSystemErrorMap } from 'node:util';
import { describe, expect, it } from 'vitest';
import { systemError } from '../../../src/errors/errors.js';
import { errorAddress } from '../../../src/address/address.js';
import { formatWindowsError, WINDOWS_ERRORS, windowsErrorEntry } from '../../../src/errors/windows.js';

/** Node's own errno for a libuv code name on this OS (what node:net puts in err.errno). */
function nodeErrno(code: string): number | undefined {
  for (const [errno, [name]] of getSystemErrorMap()) if (name === code) return errno;
  return undefined;
}
const UNKNOWN = nodeErrno('UNKNOWN') as number;

describe('the Windows error table', () => {
  it('maps each Windows number once, to a code Node knows (never UNKNOWN)', () => {
    const numbers = WINDOWS_ERRORS.map((e) => e.windowsError);
    expect(new Set(numbers).size).toBe(numbers.length);
    for (const { name, code } of WINDOWS_ERRORS) {
      expect(nodeErrno(code), `${name} → ${code}`).toBeTypeOf('number');
      expect(code).not.toBe('UNKNOWN');
    }
  });

  it('names each number as the Windows SDK does (WSAE* = 10000 + the BSD number)', () => {
    const winsock = WINDOWS_ERRORS.filter((e) => e.name.startsWith('WSA'));
    expect(winsock.length).toBeGreaterThan(20);
    for (const { windowsError } of winsock) expect(windowsError).toBeGreaterThan(10000);
    // Spot checks against winerror.h for the Win32 ones Hyper-V reports.
    const byName = new Map(WINDOWS_ERRORS.map((e) => [e.name, e.windowsError]));
    expect(byName.get('ERROR_CONNECTION_REFUSED')).toBe(1225);
    expect(byName.get('ERROR_CONNECTION_UNAVAIL')).toBe(1201);
    expect(byName.get('ERROR_NETNAME_DELETED')).toBe(64);
    expect(byName.get('ERROR_SEM_TIMEOUT')).toBe(121);
    expect(byName.get('ERROR_HOST_UNREACHABLE')).toBe(1232);
    expect(byName.get('ERROR_NETWORK_UNREACHABLE')).toBe(1231);
    expect(byName.get('ERROR_CONNECTION_ABORTED')).toBe(1236);
    expect(byName.get('WSAENETDOWN')).toBe(10050);
    expect(byName.get('WSAEACCES')).toBe(10013);
    expect(byName.get('WSAETIMEDOUT')).toBe(10060);
  });

  it('gives Hyper-V’s errors the codes a node:net user handles', () => {
    const expected: Array<[number, string]> = [
      [1225, 'ECONNREFUSED'], // ERROR_CONNECTION_REFUSED
      [10061, 'ECONNREFUSED'], // WSAECONNREFUSED
      [1201, 'ECONNREFUSED'], // ERROR_CONNECTION_UNAVAIL (libuv: UNKNOWN)
      [10050, 'ENETDOWN'], // WSAENETDOWN (libuv: UNKNOWN)
      [10013, 'EACCES'], // WSAEACCES
      [64, 'ECONNRESET'], // ERROR_NETNAME_DELETED
      [121, 'ETIMEDOUT'], // ERROR_SEM_TIMEOUT
      [10060, 'ETIMEDOUT'], // WSAETIMEDOUT
      [1460, 'ETIMEDOUT'], // ERROR_TIMEOUT (libuv: UNKNOWN)
      [1232, 'EHOSTUNREACH'], // ERROR_HOST_UNREACHABLE
      [1231, 'ENETUNREACH'], // ERROR_NETWORK_UNREACHABLE
      [1236, 'ECONNABORTED'], // ERROR_CONNECTION_ABORTED
      [10042, 'ENOPROTOOPT'], // WSAENOPROTOOPT (libuv: UNKNOWN)
      [10045, 'ENOTSUP'], // WSAEOPNOTSUPP (libuv: UNKNOWN)
      [10058, 'EPIPE'], // WSAESHUTDOWN, as libuv
    ];
    for (const [windowsError, code] of expected) expect(windowsErrorEntry(windowsError)?.code, String(windowsError)).toBe(code);
  });

  it('reads an HRESULT that wraps a Win32 error, as unsigned or as a signed 32-bit number', () => {
    expect(windowsErrorEntry(0x80070005)?.code).toBe('EACCES'); // E_ACCESSDENIED
    expect(windowsErrorEntry(0x800704c9)?.name).toBe('ERROR_CONNECTION_REFUSED');
    expect(windowsErrorEntry(0x800704c9 | 0)?.code).toBe('ECONNREFUSED');
    // HCS_E_CONNECTION_TIMEOUT: the compute service's, not a socket's.
    expect(windowsErrorEntry(0x80370109)).toBeUndefined();
    expect(windowsErrorEntry(0x80040005)).toBeUndefined(); // not FACILITY_WIN32
    expect(windowsErrorEntry(12345)).toBeUndefined();
  });

  it('formats a number for a message: decimal, hex for an HRESULT, with the name when known', () => {
    expect(formatWindowsError(1201)).toBe('ERROR_CONNECTION_UNAVAIL, Windows error 1201');
    expect(formatWindowsError(12345)).toBe('Windows error 12345');
    expect(formatWindowsError(0x80370109)).toBe('Windows error 0x80370109');
  });
});

describe('systemError with a Windows error', () => {
  it('takes code and errno from the table for every entry, keeps the number, whatever libuv said', () => {
    for (const { windowsError, code } of WINDOWS_ERRORS) {
      const error = systemError(UNKNOWN, 'connect', { ...errorAddress({ cid: 1, port: 5000 }), windowsError });
      expect(error.code).toBe(code);
      expect(error.errno).toBe(nodeErrno(code));
      expect(error.windowsError).toBe(windowsError);
      expect(error.syscall).toBe('connect');
      expect(error.message).toBe(`connect ${code} loopback:5000`);
      expect(error.port).toBe(5000);
    }
  });

  it('a Windows error the table does not know keeps libuv’s code and names the number in the message', () => {
    const econnreset = nodeErrno('ECONNRESET') as number;
    const translated = systemError(econnreset, 'read', { windowsError: 12345 });
    expect(translated.code).toBe('ECONNRESET');
    expect(translated.errno).toBe(econnreset);
    expect(translated.windowsError).toBe(12345);
    expect(translated.message).toBe('read ECONNRESET (Windows error 12345)');

    const unknown = systemError(UNKNOWN, 'connect', { windowsError: 0x80370109 });
    expect(unknown.code).toBe('UNKNOWN');
    expect(unknown.windowsError).toBe(0x80370109);
    expect(unknown.message).toBe('connect UNKNOWN (Windows error 0x80370109)');
  });

  it('an HRESULT-wrapped error is mapped and kept as the unsigned number', () => {
    const error = systemError(UNKNOWN, 'connect', { windowsError: 0x800704c9 | 0 });
    expect(error.code).toBe('ECONNREFUSED');
    expect(error.windowsError).toBe(0x800704c9);
  });

  it('without a Windows error nothing changes: no windowsError field', () => {
    const econnrefused = nodeErrno('ECONNREFUSED') as number;
    const error = systemError(econnrefused, 'connect');
    expect(error.code).toBe('ECONNREFUSED');
    expect(error.errno).toBe(econnrefused);
    expect('windowsError' in error).toBe(false);
    expect(systemError(econnrefused, 'connect', { windowsError: 0 })).not.toHaveProperty('windowsError');
  });
});
