// Winsock calls that need no engine: the platform calls engine_base.h
// declares are defined in socket_calls.cc, beside these helpers, which the
// Windows engine (engine_win.cc) uses too.
#pragma once

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <winsock2.h>
#include <windows.h>

#include "../engine_base.h"

namespace hvsock {

// A status for a Windows error, remembered for TakeWindowsError().
int Fail(DWORD error);
int FailLastSocketError();

// A new overlapped, non-inheritable stream socket, or INVALID_SOCKET with
// WSAGetLastError() set.
SOCKET NewSocket(int family, int protocol);

}  // namespace hvsock
