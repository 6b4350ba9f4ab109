// The JavaScript object behind one OS socket. It turns JavaScript arguments
// into Engine calls and Engine events into JavaScript callbacks (onconnect,
// onconnection, onread, onwrite, looked up on the object itself, as Node's
// own stream handles do). Argument checking happens in TypeScript; here a
// wrong type is a plain EINVAL, never a crash.
#pragma once

#include <napi.h>

#include <memory>

#include "engine.h"

namespace hvsock {

struct AddonData {
  Napi::FunctionReference handle_constructor;
  Napi::Reference<Napi::Buffer<char>> read_buffer;
  char* read_data = nullptr;
  size_t read_length = 0;
};

class SocketHandle final : public Napi::ObjectWrap<SocketHandle>, public EngineListener {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit SocketHandle(const Napi::CallbackInfo& info);
  ~SocketHandle() override;

  // EngineListener
  void OnConnect(int status) override;
  void OnConnection(int status, AcceptedSocket* accepted) override;
  void OnRead(intptr_t nread) override;
  void OnWriteDone(int status) override;
  void OnTeardown() override;

 private:
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

  int Attach(Napi::Env env, int family, int protocol, OsSocket adopt);
  int AttachAccepted(Napi::Env env, const AcceptedSocket& accepted);
  // Makes `engine` (or, when null, the failure `err`) this handle's.
  int UseEngine(Engine* engine, int err);
  // Every status handed to JavaScript passes here: it keeps the Windows
  // error behind it (TakeWindowsError) for handle.windowsError.
  Napi::Number Status(Napi::Env env, int status);
  void ReleaseEngine();
  Napi::Value SockAddr(Napi::Env env, bool peer);
  // Calls this.<name>(...args) as a top-level callback: microtasks and
  // nextTicks run afterwards, and a throw becomes 'uncaughtException'.
  void Emit(const char* name, std::initializer_list<napi_value> args);
  static void ReportPendingException(napi_env env);

  Engine* engine_ = nullptr;
  bool ref_ = true;
  // The Windows error behind the last negative status this handle returned
  // or reported; 0 when it had none (and always off Windows).
  uint32_t windows_error_ = 0;
  std::unique_ptr<Napi::AsyncContext> async_context_;
  Napi::Reference<Napi::Value> pending_write_;
};

}  // namespace hvsock
