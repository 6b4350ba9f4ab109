// The Windows side of engine_base.h's platform calls (Winsock started,
// sockets opened, checked, named and configured), and the helpers the
// engine shares with them. See socket_calls.h.
#include "socket_calls.h"

#include "completion_port.h"

namespace hvsock {
namespace {

// 0, or why Winsock would not start. Node has started it already; this is
// only a reference count.
DWORD WinsockStartError() {
  static DWORD error = [] {
    WSADATA data;
    return static_cast<DWORD>(WSAStartup(MAKEWORD(2, 2), &data));
  }();
  return error;
}

}  // namespace

// A status for a Windows error, remembered for TakeWindowsError().
int Fail(DWORD error) {
  SetWindowsError(error);
  return uv_translate_sys_error(static_cast<int>(error));
}

int FailLastSocketError() { return Fail(static_cast<DWORD>(WSAGetLastError())); }

SOCKET NewSocket(int family, int protocol) {
  SOCKET s = WSASocketW(family, SOCK_STREAM, protocol, nullptr, 0, WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
  if (s == INVALID_SOCKET && WSAGetLastError() == WSAEINVAL) {
    // Before Windows 7 SP1 the no-inherit flag did not exist.
    s = WSASocketW(family, SOCK_STREAM, protocol, nullptr, 0, WSA_FLAG_OVERLAPPED);
    if (s != INVALID_SOCKET) SetHandleInformation(reinterpret_cast<HANDLE>(s), HANDLE_FLAG_INHERIT, 0);
  }
  return s;
}

int PlatformReady() {
  if (DWORD error = WinsockStartError()) return Fail(error);
  if (!CompletionPortReady()) return FailWith(UV_ENOMEM);
  return 0;
}

int OpenSocket(int family, int protocol, OsSocket* socket) {
  SOCKET s = NewSocket(family, protocol);
  if (s == INVALID_SOCKET) return FailLastSocketError();
  *socket = static_cast<OsSocket>(s);
  return 0;
}

// What an adopted socket must be before anything is done to it: a bound
// stream socket of our family. Asks only; changes nothing. The engine makes
// its accept sockets with the family and protocol found here.
int CheckAdoptable(OsSocket socket, int* family, int* protocol) {
  SOCKET s = static_cast<SOCKET>(socket);
  int type = 0;
  int len = sizeof(type);
  if (getsockopt(s, SOL_SOCKET, SO_TYPE, reinterpret_cast<char*>(&type), &len) == SOCKET_ERROR) {
    return FailLastSocketError();
  }
  if (type != SOCK_STREAM) return FailWith(UV_EPROTOTYPE);
  WSAPROTOCOL_INFOW info{};
  len = sizeof(info);
  if (getsockopt(s, SOL_SOCKET, SO_PROTOCOL_INFOW, reinterpret_cast<char*>(&info), &len) == SOCKET_ERROR) {
    return FailLastSocketError();
  }
  if (*family > 0 && info.iAddressFamily != *family) return FailWith(UV_EAFNOSUPPORT);
  // An unbound socket cannot listen (WSAEINVAL from getsockname).
  SOCKADDR_STORAGE bound{};
  len = sizeof(bound);
  if (::getsockname(s, reinterpret_cast<sockaddr*>(&bound), &len) == SOCKET_ERROR) return FailLastSocketError();
  *family = info.iAddressFamily;
  *protocol = info.iProtocol;
  return 0;
}

int SocketName(OsSocket socket, bool peer, void* addr, size_t* len) {
  SOCKET s = static_cast<SOCKET>(socket);
  int l = static_cast<int>(*len);
  auto* sa = static_cast<sockaddr*>(addr);
  int r = peer ? ::getpeername(s, sa, &l) : ::getsockname(s, sa, &l);
  if (r == SOCKET_ERROR) return FailLastSocketError();
  *len = static_cast<size_t>(l);
  return 0;
}

int SetSocketOption(OsSocket socket, int level, int name, const void* value, size_t len) {
  if (setsockopt(static_cast<SOCKET>(socket), level, name, static_cast<const char*>(value), static_cast<int>(len)) ==
      SOCKET_ERROR) {
    return FailLastSocketError();
  }
  return 0;
}

int GetSocketOption(OsSocket socket, int level, int name, void* value, size_t* len) {
  int l = static_cast<int>(*len);
  if (getsockopt(static_cast<SOCKET>(socket), level, name, static_cast<char*>(value), &l) == SOCKET_ERROR) {
    return FailLastSocketError();
  }
  *len = static_cast<size_t>(l);
  return 0;
}

void CloseOsSocket(OsSocket socket) { closesocket(static_cast<SOCKET>(socket)); }

int LocalCid(uint32_t* cid) {
  (void)cid;
  return UV_ENOSYS;
}

// Not a socket's status: leaves TakeWindowsError() alone.
int ProbeFamily(int family, int protocol) {
  if (DWORD error = WinsockStartError()) return uv_translate_sys_error(static_cast<int>(error));
  SOCKET s = NewSocket(family, protocol);
  if (s == INVALID_SOCKET) return uv_translate_sys_error(WSAGetLastError());
  closesocket(s);
  return 0;
}

}  // namespace hvsock
