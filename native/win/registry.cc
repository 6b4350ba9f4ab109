// Hyper-V service registration: the keys under GuestCommunicationServices
// that let a VM reach a service on its host; and two generic reads under
// HKLM (subkeys, a DWORD) for the WSL VM ID lookup. Plain Win32 registry
// calls (no PowerShell), so the same code runs against Wine's registry in
// tests. TypeScript validates the GUID and name; errors are negative libuv codes.
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <napi.h>
#include <uv.h>

#include <string>

#include "registry.h"

namespace hvsock {
namespace {

constexpr wchar_t kServicesKey[] =
    L"SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Virtualization\\GuestCommunicationServices";

int Translate(LONG status) { return uv_translate_sys_error(static_cast<int>(status)); }

std::wstring Wide(const Napi::Value& value) {
  std::u16string text = value.As<Napi::String>().Utf16Value();
  return std::wstring(text.begin(), text.end());
}

Napi::String Narrow(Napi::Env env, const wchar_t* text, size_t length) {
  return Napi::String::New(env, reinterpret_cast<const char16_t*>(text), length);
}

// Calls visit(name, length) for each subkey of an open key; returns
// ERROR_SUCCESS once all are seen, or the error that stopped the walk.
template <typename Visit>
LONG ForEachSubkey(HKEY key, Visit visit) {
  for (DWORD index = 0;; index++) {
    // Key names are at most 255 characters.
    wchar_t name[256];
    DWORD name_length = 256;
    LONG status = RegEnumKeyExW(key, index, name, &name_length, nullptr, nullptr, nullptr, nullptr);
    if (status == ERROR_NO_MORE_ITEMS) return ERROR_SUCCESS;
    if (status != ERROR_SUCCESS) return status;
    visit(name, name_length);
  }
}

// listServices() → [[serviceId, elementName], …] or a negative error.
Napi::Value List(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  HKEY key;
  LONG status = RegOpenKeyExW(HKEY_LOCAL_MACHINE, kServicesKey, 0, KEY_READ, &key);
  // No key at all means nothing was ever registered (or no Hyper-V).
  if (status == ERROR_FILE_NOT_FOUND) return Napi::Array::New(env);
  if (status != ERROR_SUCCESS) return Napi::Number::New(env, Translate(status));
  Napi::Array out = Napi::Array::New(env);
  uint32_t count = 0;
  status = ForEachSubkey(key, [&](const wchar_t* name, DWORD name_length) {
    wchar_t element[1024] = {0};
    DWORD element_bytes = sizeof(element) - sizeof(wchar_t);
    LONG got = RegGetValueW(key, name, L"ElementName", RRF_RT_REG_SZ, nullptr, element, &element_bytes);
    Napi::Array entry = Napi::Array::New(env, 2);
    entry.Set(0u, Narrow(env, name, name_length));
    if (got == ERROR_SUCCESS) {
      entry.Set(1u, Narrow(env, element, element_bytes / sizeof(wchar_t) - (element_bytes > 0 ? 1 : 0)));
    } else {
      entry.Set(1u, env.Null());
    }
    out.Set(count++, entry);
  });
  RegCloseKey(key);
  if (status != ERROR_SUCCESS) return Napi::Number::New(env, Translate(status));
  return out;
}

// registerService(serviceId, elementName) → 0 or a negative error.
Napi::Value Register(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsString()) return Napi::Number::New(env, UV_EINVAL);
  std::wstring path = std::wstring(kServicesKey) + L"\\" + Wide(info[0]);
  std::wstring element = Wide(info[1]);
  HKEY key;
  LONG status = RegCreateKeyExW(HKEY_LOCAL_MACHINE, path.c_str(), 0, nullptr, REG_OPTION_NON_VOLATILE, KEY_SET_VALUE,
                                nullptr, &key, nullptr);
  if (status != ERROR_SUCCESS) return Napi::Number::New(env, Translate(status));
  status = RegSetValueExW(key, L"ElementName", 0, REG_SZ, reinterpret_cast<const BYTE*>(element.c_str()),
                          static_cast<DWORD>((element.size() + 1) * sizeof(wchar_t)));
  RegCloseKey(key);
  return Napi::Number::New(env, status == ERROR_SUCCESS ? 0 : Translate(status));
}

// unregisterService(serviceId) → 0 or a negative error (ENOENT if absent).
Napi::Value Unregister(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) return Napi::Number::New(env, UV_EINVAL);
  HKEY key;
  LONG status = RegOpenKeyExW(HKEY_LOCAL_MACHINE, kServicesKey, 0, KEY_READ | KEY_WRITE, &key);
  if (status != ERROR_SUCCESS) return Napi::Number::New(env, Translate(status));
  status = RegDeleteTreeW(key, Wide(info[0]).c_str());
  RegCloseKey(key);
  return Napi::Number::New(env, status == ERROR_SUCCESS ? 0 : Translate(status));
}

// elevated() → whether this process runs with an elevated (Administrator)
// token, which writing the service registry needs.
Napi::Value Elevated(const Napi::CallbackInfo& info) {
  HANDLE token;
  if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token)) {
    return Napi::Number::New(info.Env(), Translate(static_cast<LONG>(GetLastError())));
  }
  TOKEN_ELEVATION elevation{};
  DWORD size = 0;
  BOOL ok = GetTokenInformation(token, TokenElevation, &elevation, sizeof(elevation), &size);
  DWORD error = ok ? 0 : GetLastError();
  CloseHandle(token);
  if (!ok) return Napi::Number::New(info.Env(), Translate(static_cast<LONG>(error)));
  return Napi::Boolean::New(info.Env(), elevation.TokenIsElevated != 0);
}

// subkeys(path) → the names of the subkeys of HKLM\<path>, or a negative
// error (ENOENT when the key is absent). Read-only and generic: the WSL VM ID
// lookup lists HCS's compute systems with it.
Napi::Value Subkeys(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) return Napi::Number::New(env, UV_EINVAL);
  HKEY key;
  LONG status = RegOpenKeyExW(HKEY_LOCAL_MACHINE, Wide(info[0]).c_str(), 0, KEY_ENUMERATE_SUB_KEYS, &key);
  if (status != ERROR_SUCCESS) return Napi::Number::New(env, Translate(status));
  Napi::Array out = Napi::Array::New(env);
  uint32_t count = 0;
  status = ForEachSubkey(key, [&](const wchar_t* name, DWORD name_length) { out.Set(count++, Narrow(env, name, name_length)); });
  RegCloseKey(key);
  if (status != ERROR_SUCCESS) return Napi::Number::New(env, Translate(status));
  return out;
}

// dword(path, valueName) → the REG_DWORD value under HKLM\<path> (0 to
// 0xFFFFFFFF), or a negative error (ENOENT when the key or value is absent).
Napi::Value Dword(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsString()) return Napi::Number::New(env, UV_EINVAL);
  DWORD value = 0;
  DWORD size = sizeof(value);
  LONG status = RegGetValueW(HKEY_LOCAL_MACHINE, Wide(info[0]).c_str(), Wide(info[1]).c_str(), RRF_RT_REG_DWORD,
                             nullptr, &value, &size);
  if (status != ERROR_SUCCESS) return Napi::Number::New(env, Translate(status));
  return Napi::Number::New(env, static_cast<double>(value));
}

}  // namespace

void AddRegistryFunctions(Napi::Env env, Napi::Object exports) {
  Napi::Object registry = Napi::Object::New(env);
  registry.Set("list", Napi::Function::New<List>(env, "list"));
  registry.Set("register", Napi::Function::New<Register>(env, "register"));
  registry.Set("unregister", Napi::Function::New<Unregister>(env, "unregister"));
  registry.Set("elevated", Napi::Function::New<Elevated>(env, "elevated"));
  registry.Set("subkeys", Napi::Function::New<Subkeys>(env, "subkeys"));
  registry.Set("dword", Napi::Function::New<Dword>(env, "dword"));
  exports.Set("registry", registry);
}

}  // namespace hvsock
