// Cross-built Windows binaries (scripts/build-win32.mjs) import Node-API and
// libuv from "node.exe" through a delay-load table. This hook answers that
// lookup with the running executable, so the addon also loads in a host with
// another name (a renamed node.exe, Electron). node-gyp adds the same hook to
// MSVC builds itself, which is why binding.gyp does not list this file.
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <delayimp.h>
#include <string.h>

static FARPROC WINAPI LoadExeHook(unsigned int event, PDelayLoadInfo info) {
  if (event != dliNotePreLoadLibrary) return nullptr;
  if (_stricmp(info->szDll, "node.exe") != 0) return nullptr;
  return reinterpret_cast<FARPROC>(GetModuleHandleW(nullptr));
}

extern "C" {
PfnDliHook __pfnDliNotifyHook2 = LoadExeHook;
}
