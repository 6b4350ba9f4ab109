// The Windows errors a Hyper-V socket can report, and the code a node:net
// user expects for each. libuv's own table (uv_translate_sys_error, which
// the native layer applies first) has no entry for several of them:
// WSAENETDOWN, ERROR_CONNECTION_UNAVAIL, WSAENOPROTOOPT, WSAEOPNOTSUPP,
// ERROR_TIMEOUT and more would reach users as a bare UNKNOWN. This table is
// the authority for the code; the Windows number itself always stays on the
// error as `windowsError` (see systemError in errors.ts).
//
// Which errors Hyper-V produces, and when, is known from other projects
// (docs/hyperv-facts.md#errors), not from our own runs: there is no Hyper-V on the
// machines that build this. Each code is what a caller would do about the
// error: ECONNREFUSED means "nobody there, try later", ETIMEDOUT "no answer",
// EACCES "not allowed", and so on.

export interface WindowsErrorEntry {
  /** The Windows error number (a Win32 ERROR_* or a Winsock WSAE* value). */
  readonly windowsError: number;
  /** Its name in the Windows SDK. */
  readonly name: string;
  /** The libuv error name Node uses (`err.code`). */
  readonly code: string;
}

const entry = (windowsError: number, name: string, code: string): WindowsErrorEntry => ({ windowsError, name, code });

export const WINDOWS_ERRORS: readonly WindowsErrorEntry[] = [
  // Nobody listens, or the partition does not take the connection now.
  entry(10061, 'WSAECONNREFUSED', 'ECONNREFUSED'),
  entry(1225, 'ERROR_CONNECTION_REFUSED', 'ECONNREFUSED'),
  // "The device is not currently connected": go-winio redials on it exactly
  // as on a refusal (hvsock.go canRedial), so it is one for the caller too.
  entry(1201, 'ERROR_CONNECTION_UNAVAIL', 'ECONNREFUSED'),
  entry(1234, 'ERROR_PORT_UNREACHABLE', 'ECONNREFUSED'),
  // Not permitted: an unregistered service, another user's WSL VM.
  entry(10013, 'WSAEACCES', 'EACCES'),
  entry(5, 'ERROR_ACCESS_DENIED', 'EACCES'),
  entry(65, 'ERROR_NETWORK_ACCESS_DENIED', 'EACCES'),
  // The VM bus is going or gone: seen around VM reboots (moby/vpnkit#299).
  entry(10050, 'WSAENETDOWN', 'ENETDOWN'),
  entry(10051, 'WSAENETUNREACH', 'ENETUNREACH'),
  entry(1231, 'ERROR_NETWORK_UNREACHABLE', 'ENETUNREACH'),
  entry(10065, 'WSAEHOSTUNREACH', 'EHOSTUNREACH'),
  entry(1232, 'ERROR_HOST_UNREACHABLE', 'EHOSTUNREACH'),
  entry(10064, 'WSAEHOSTDOWN', 'EHOSTDOWN'),
  entry(1256, 'ERROR_HOST_DOWN', 'EHOSTDOWN'),
  // No answer in time (HVSOCKET_CONNECT_TIMEOUT, or a dead peer).
  entry(10060, 'WSAETIMEDOUT', 'ETIMEDOUT'),
  entry(121, 'ERROR_SEM_TIMEOUT', 'ETIMEDOUT'),
  entry(1460, 'ERROR_TIMEOUT', 'ETIMEDOUT'),
  // The connection went away under us.
  entry(10054, 'WSAECONNRESET', 'ECONNRESET'),
  entry(10052, 'WSAENETRESET', 'ECONNRESET'),
  entry(64, 'ERROR_NETNAME_DELETED', 'ECONNRESET'),
  entry(59, 'ERROR_UNEXP_NET_ERR', 'ECONNRESET'),
  entry(10053, 'WSAECONNABORTED', 'ECONNABORTED'),
  entry(1236, 'ERROR_CONNECTION_ABORTED', 'ECONNABORTED'),
  entry(1229, 'ERROR_CONNECTION_INVALID', 'ENOTCONN'),
  entry(10057, 'WSAENOTCONN', 'ENOTCONN'),
  entry(2250, 'ERROR_NOT_CONNECTED', 'ENOTCONN'),
  // Writing after our own shutdown: node:net reports EPIPE.
  entry(10058, 'WSAESHUTDOWN', 'EPIPE'),
  entry(10101, 'WSAEDISCON', 'EPIPE'),
  entry(995, 'ERROR_OPERATION_ABORTED', 'ECANCELED'),
  entry(1235, 'ERROR_REQUEST_ABORTED', 'ECANCELED'),
  // Addresses and the provider.
  entry(10048, 'WSAEADDRINUSE', 'EADDRINUSE'),
  entry(10049, 'WSAEADDRNOTAVAIL', 'EADDRNOTAVAIL'),
  entry(10047, 'WSAEAFNOSUPPORT', 'EAFNOSUPPORT'),
  entry(10046, 'WSAEPFNOSUPPORT', 'EAFNOSUPPORT'),
  entry(10043, 'WSAEPROTONOSUPPORT', 'EPROTONOSUPPORT'),
  entry(10041, 'WSAEPROTOTYPE', 'EPROTOTYPE'),
  entry(10044, 'WSAESOCKTNOSUPPORT', 'ESOCKTNOSUPPORT'),
  // A Hyper-V option this Windows does not have (HVSOCKET_HIGH_VTL on an old build).
  entry(10042, 'WSAENOPROTOOPT', 'ENOPROTOOPT'),
  entry(10045, 'WSAEOPNOTSUPP', 'ENOTSUP'),
  entry(50, 'ERROR_NOT_SUPPORTED', 'ENOTSUP'),
  entry(10022, 'WSAEINVAL', 'EINVAL'),
  entry(87, 'ERROR_INVALID_PARAMETER', 'EINVAL'),
  entry(10037, 'WSAEALREADY', 'EALREADY'),
  entry(10056, 'WSAEISCONN', 'EISCONN'),
  entry(10039, 'WSAEDESTADDRREQ', 'EDESTADDRREQ'),
  entry(10038, 'WSAENOTSOCK', 'ENOTSOCK'),
  entry(10040, 'WSAEMSGSIZE', 'EMSGSIZE'),
  entry(10014, 'WSAEFAULT', 'EFAULT'),
  entry(10035, 'WSAEWOULDBLOCK', 'EAGAIN'),
  entry(10004, 'WSAEINTR', 'ECANCELED'),
  entry(10009, 'WSAEBADF', 'EBADF'),
  entry(6, 'ERROR_INVALID_HANDLE', 'EBADF'),
  // Out of something.
  entry(10055, 'WSAENOBUFS', 'ENOBUFS'),
  entry(1450, 'ERROR_NO_SYSTEM_RESOURCES', 'ENOBUFS'),
  entry(10024, 'WSAEMFILE', 'EMFILE'),
  entry(8, 'ERROR_NOT_ENOUGH_MEMORY', 'ENOMEM'),
  entry(14, 'ERROR_OUTOFMEMORY', 'ENOMEM'),
];

const byNumber = new Map(WINDOWS_ERRORS.map((e) => [e.windowsError, e]));

/** HRESULT_FROM_WIN32: FACILITY_WIN32 (7) with the failure bit, the Win32 error in the low 16 bits. */
const HRESULT_WIN32_MASK = 0xffff0000;
const HRESULT_WIN32 = 0x80070000;

/**
 * The table's entry for a Windows error, or undefined. An HRESULT that wraps
 * a Win32 error (0x8007xxxx) is looked up by that error. Other HRESULTs
 * (HCS_E_* 0x8037xxxx and the like) come from the Host Compute Service's own
 * API, not from socket calls; none is known to reach a Winsock caller, so
 * they have no entry and keep libuv's code.
 */
export function windowsErrorEntry(windowsError: number): WindowsErrorEntry | undefined {
  const value = windowsError >>> 0;
  const direct = byNumber.get(value);
  if (direct !== undefined) return direct;
  if ((value & HRESULT_WIN32_MASK) >>> 0 === HRESULT_WIN32) return byNumber.get(value & 0xffff);
  return undefined;
}

/** How a Windows error number is shown in a message: decimal, or hex for an HRESULT. */
export function formatWindowsError(windowsError: number): string {
  const value = windowsError >>> 0;
  const name = windowsErrorEntry(value)?.name;
  const number = value >= 0x80000000 ? `0x${value.toString(16).padStart(8, '0')}` : String(value);
  return name === undefined ? `Windows error ${number}` : `${name}, Windows error ${number}`;
}
