// The JavaScript object behind one OS socket. It turns JavaScript arguments
// into Engine calls and Engine events into JavaScript callbacks (onconnect,
// onconnection, onread, onwrite). The callbacks are accessors kept in the
// handle, as Node's own stream handles keep onread, so an event costs no
// property lookup by name; close() drops them, as they would otherwise keep
// the handle alive through their closures. Argument checking happens in
// TypeScript; here a wrong type is a plain EINVAL, never a crash.
#pragma once

#include <napi.h>

#include <memory>
#include <vector>

#include "engine.h"
#include "read_memory.h"

namespace hvsock {

struct AddonData {
  Napi::FunctionReference handle_constructor;
  ReadMemory read_memory;
};

class SocketHandle final : public Napi::ObjectWrap<SocketHandle>, public EngineEvents {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit SocketHandle(const Napi::CallbackInfo& info);
  ~SocketHandle() override;

  // EngineEvents
  ReadSpace OnAllocRead(size_t suggested) override;
  void OnConnect(int status) override;
  void OnConnection(int status, AcceptedSocket* accepted) override;
  void OnRead(intptr_t nread) override;
  void OnReadFrom(const char* data, size_t nread) override;
  void OnWriteDone(int status) override;
  void OnTeardown() override;

 private:
  void EmitChunk(const char* data, size_t nread);
  Napi::Value Open(const Napi::CallbackInfo& info);
  Napi::Value Adopt(const Napi::CallbackInfo& info);
  Napi::Value Bind(const Napi::CallbackInfo& info);
  Napi::Value Listen(const Napi::CallbackInfo& info);
  Napi::Value Connect(const Napi::CallbackInfo& info);
  Napi::Value ReadStart(const Napi::CallbackInfo& info);
  Napi::Value ReadStop(const Napi::CallbackInfo& info);
  Napi::Value Writev(const Napi::CallbackInfo& info);
  Napi::Value Shutdown(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value GetSockName(const Napi::CallbackInfo& info);
  Napi::Value GetPeerName(const Napi::CallbackInfo& info);
  Napi::Value SetOption(const Napi::CallbackInfo& info);
  Napi::Value SetAcceptOptions(const Napi::CallbackInfo& info);
  Napi::Value GetOption(const Napi::CallbackInfo& info);
  Napi::Value RefHandle(const Napi::CallbackInfo& info);
  Napi::Value UnrefHandle(const Napi::CallbackInfo& info);
  Napi::Value GetFd(const Napi::CallbackInfo& info);
  Napi::Value GetWindowsError(const Napi::CallbackInfo& info);

  // The event callbacks: handle.onconnect, .onconnection, .onread, .onwrite.
  enum Callback { kOnConnect, kOnConnection, kOnRead, kOnWrite, kCallbackCount };
  template <Callback which>
  Napi::Value GetCallback(const Napi::CallbackInfo& info);
  template <Callback which>
  void SetCallback(const Napi::CallbackInfo& info, const Napi::Value& value);

  int Attach(Napi::Env env, int family, int protocol, OsSocket adopt);
  int AttachAccepted(Napi::Env env, const AcceptedSocket& accepted);
  // Makes `engine` (or, when null, the failure `err`) this handle's.
  int UseEngine(Engine* engine, int err);
  // Every status handed to JavaScript passes here: it keeps the Windows
  // error behind it (TakeWindowsError) for handle.windowsError.
  Napi::Number Status(Napi::Env env, int status);
  void ReleaseEngine();
  Napi::Value SockAddr(Napi::Env env, bool peer);
  // Calls the callback, if set, as a top-level callback with this handle as
  // `this`: microtasks and nextTicks run afterwards, and a throw becomes
  // 'uncaughtException'.
  void Emit(Callback which, std::initializer_list<napi_value> args);
  static void ReportPendingException(napi_env env);

  Engine* engine_ = nullptr;
  // Listen succeeded: readStart/readStop accept.
  bool listening_ = false;
  bool ref_ = true;
  // The Windows error behind the last negative status this handle returned
  // or reported; 0 when it had none (and always off Windows).
  uint32_t windows_error_ = 0;
  std::unique_ptr<Napi::AsyncContext> async_context_;
  Napi::Reference<Napi::Value> pending_write_;
  Napi::FunctionReference callbacks_[kCallbackCount];
  // Reused by every write, so that writes stop allocating after the first.
  std::vector<WriteChunk> write_chunks_;
};

}  // namespace hvsock
