// The Host Compute Service's list of compute systems (HcsEnumerateComputeSystems),
// for finding WSL's utility VM. computecore.dll exists only on Windows 10 1809
// and later (and not under Wine), so it is loaded at run time: the addon must
// load everywhere, and its import table stays KERNEL32/ADVAPI32/WS2_32.
//
// hcs.enumerate(query, timeoutMs) → Promise of one plain object, never a
// rejection:
//   { hresult, document }   what HCS answered (document: its JSON result, or
//                           its error document; hresult 0 on success)
//   { missing, error }      computecore.dll or one of its functions is absent
//                           (error: the Win32 error code)
// TypeScript reads the JSON and turns HRESULTs such as HCS_E_ACCESS_DENIED
// into reasons. The call blocks on the HCS service, so it runs on the thread pool.
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <napi.h>

#include <cstdint>
#include <string>

#include "hcs.h"

#ifndef LOAD_LIBRARY_SEARCH_SYSTEM32
#define LOAD_LIBRARY_SEARCH_SYSTEM32 0x00000800
#endif

namespace hvsock {
namespace {

// computecore.h's signatures, with HCS_OPERATION (an opaque handle) as void*:
// declaring them here keeps the build independent of the SDK's version.
using HcsCreateOperationFn = void*(WINAPI*)(const void* context, void* callback);
using HcsEnumerateComputeSystemsFn = HRESULT(WINAPI*)(PCWSTR query, void* operation);
using HcsWaitForOperationResultFn = HRESULT(WINAPI*)(void* operation, DWORD timeout_ms, PWSTR* result_document);
using HcsCloseOperationFn = void(WINAPI*)(void* operation);

class EnumerateWorker : public Napi::AsyncWorker {
 public:
  EnumerateWorker(Napi::Env env, std::wstring query, DWORD timeout_ms)
      : Napi::AsyncWorker(env, "hvsock.hcs.enumerate"),
        deferred_(Napi::Promise::Deferred::New(env)),
        query_(std::move(query)),
        timeout_ms_(timeout_ms) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    // System32 only: never a computecore.dll planted beside the executable.
    HMODULE module = LoadLibraryExW(L"computecore.dll", nullptr, LOAD_LIBRARY_SEARCH_SYSTEM32);
    if (module == nullptr) {
      Missing("computecore.dll");
      return;
    }
    auto create = reinterpret_cast<HcsCreateOperationFn>(GetProcAddress(module, "HcsCreateOperation"));
    auto enumerate = reinterpret_cast<HcsEnumerateComputeSystemsFn>(GetProcAddress(module, "HcsEnumerateComputeSystems"));
    auto wait = reinterpret_cast<HcsWaitForOperationResultFn>(GetProcAddress(module, "HcsWaitForOperationResult"));
    auto close = reinterpret_cast<HcsCloseOperationFn>(GetProcAddress(module, "HcsCloseOperation"));
    const char* absent = create == nullptr      ? "HcsCreateOperation"
                         : enumerate == nullptr ? "HcsEnumerateComputeSystems"
                         : wait == nullptr      ? "HcsWaitForOperationResult"
                         : close == nullptr     ? "HcsCloseOperation"
                                                : nullptr;
    if (absent != nullptr) {
      Missing(absent);
      FreeLibrary(module);
      return;
    }
    void* operation = create(nullptr, nullptr);
    if (operation == nullptr) {
      Missing("HcsCreateOperation");
      FreeLibrary(module);
      return;
    }
    HRESULT result = enumerate(query_.c_str(), operation);
    if (SUCCEEDED(result)) {
      // The operation's own result (HCS_E_ACCESS_DENIED for a non-admin, say)
      // comes back here, with a JSON error document.
      PWSTR document = nullptr;
      result = wait(operation, timeout_ms_, &document);
      if (document != nullptr) {
        document_.assign(document);
        LocalFree(document);
      }
    }
    hresult_ = static_cast<uint32_t>(result);
    close(operation);
    FreeLibrary(module);
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Object out = Napi::Object::New(env);
    if (missing_ != nullptr) {
      out.Set("missing", missing_);
      out.Set("error", Napi::Number::New(env, error_));
    } else {
      out.Set("hresult", Napi::Number::New(env, hresult_));
      out.Set("document", Napi::String::New(env, reinterpret_cast<const char16_t*>(document_.c_str()), document_.size()));
    }
    deferred_.Resolve(out);
  }

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  void Missing(const char* what) {
    missing_ = what;
    error_ = GetLastError();
  }

  Napi::Promise::Deferred deferred_;
  std::wstring query_;
  DWORD timeout_ms_;
  const char* missing_ = nullptr;
  DWORD error_ = 0;
  uint32_t hresult_ = 0;
  std::wstring document_;
};

Napi::Value Enumerate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsNumber()) {
    Napi::TypeError::New(env, "hcs.enumerate(query: string, timeoutMs: number)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::u16string query = info[0].As<Napi::String>().Utf16Value();
  auto* worker = new EnumerateWorker(env, std::wstring(query.begin(), query.end()),
                                     info[1].As<Napi::Number>().Uint32Value());
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace

void AddHcsFunctions(Napi::Env env, Napi::Object exports) {
  Napi::Object hcs = Napi::Object::New(env);
  hcs.Set("enumerate", Napi::Function::New<Enumerate>(env, "enumerate"));
  exports.Set("hcs", hcs);
}

}  // namespace hvsock
