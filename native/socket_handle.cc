#include "socket_handle.h"

#include <cstring>
#include <vector>

namespace hvsock {
namespace {

// Large enough for SOCKADDR_HV (36 bytes) and sockaddr_vm (16 bytes).
constexpr size_t kMaxSockAddr = 128;

bool ReadBytes(const Napi::Value& value, const char** data, size_t* length) {
  if (!value.IsTypedArray()) return false;
  auto view = value.As<Napi::TypedArray>();
  if (view.TypedArrayType() != napi_uint8_array) return false;
  auto bytes = value.As<Napi::Uint8Array>();
  *data = reinterpret_cast<const char*>(bytes.Data());
  *length = bytes.ByteLength();
  return true;
}

int IntArg(const Napi::CallbackInfo& info, size_t index, int fallback) {
  if (info.Length() <= index || !info[index].IsNumber()) return fallback;
  return info[index].As<Napi::Number>().Int32Value();
}

}  // namespace

Napi::Function SocketHandle::Define(Napi::Env env) {
  return DefineClass(env, "SocketHandle",
                     {
                         InstanceMethod<&SocketHandle::Open>("open"),
                         InstanceMethod<&SocketHandle::Adopt>("adopt"),
                         InstanceMethod<&SocketHandle::Bind>("bind"),
                         InstanceMethod<&SocketHandle::Listen>("listen"),
                         InstanceMethod<&SocketHandle::Connect>("connect"),
                         InstanceMethod<&SocketHandle::ReadStart>("readStart"),
                         InstanceMethod<&SocketHandle::ReadStop>("readStop"),
                         InstanceMethod<&SocketHandle::Writev>("writev"),
                         InstanceMethod<&SocketHandle::Shutdown>("shutdown"),
                         InstanceMethod<&SocketHandle::Close>("close"),
                         InstanceMethod<&SocketHandle::GetSockName>("getsockname"),
                         InstanceMethod<&SocketHandle::GetPeerName>("getpeername"),
                         InstanceMethod<&SocketHandle::SetOption>("setsockopt"),
                         InstanceMethod<&SocketHandle::GetOption>("getsockopt"),
                         InstanceMethod<&SocketHandle::SetAcceptOptions>("setAcceptOptions"),
                         InstanceMethod<&SocketHandle::RefHandle>("ref"),
                         InstanceMethod<&SocketHandle::UnrefHandle>("unref"),
                         InstanceAccessor<&SocketHandle::GetFd>("fd"),
                         InstanceAccessor<&SocketHandle::GetWindowsError>("windowsError"),
                         InstanceAccessor<&SocketHandle::GetCallback<kOnConnect>,
                                          &SocketHandle::SetCallback<kOnConnect>>("onconnect"),
                         InstanceAccessor<&SocketHandle::GetCallback<kOnConnection>,
                                          &SocketHandle::SetCallback<kOnConnection>>("onconnection"),
                         InstanceAccessor<&SocketHandle::GetCallback<kOnRead>,
                                          &SocketHandle::SetCallback<kOnRead>>("onread"),
                         InstanceAccessor<&SocketHandle::GetCallback<kOnWrite>,
                                          &SocketHandle::SetCallback<kOnWrite>>("onwrite"),
                     });
}

SocketHandle::SocketHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SocketHandle>(info) {
  async_context_ = std::make_unique<Napi::AsyncContext>(info.Env(), "HVSOCKWRAP", info.This().As<Napi::Object>());
}

SocketHandle::~SocketHandle() {
  // Only environment teardown gets here with a socket still open (an open
  // handle holds a strong reference to itself). No JavaScript may run now and
  // the self-reference is being deleted anyway: just close.
  if (engine_ != nullptr) engine_->Close();
  engine_ = nullptr;
}

Napi::Number SocketHandle::Status(Napi::Env env, int status) {
  uint32_t windows_error = TakeWindowsError();
  windows_error_ = status < 0 ? windows_error : 0;
  return Napi::Number::New(env, status);
}

int SocketHandle::Attach(Napi::Env env, int family, int protocol, OsSocket adopt) {
  if (engine_ != nullptr) return UV_EALREADY;
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return UV_EINVAL;
  int err = 0;
  Engine* engine = Engine::Create(env, loop, this, family, protocol, adopt, &err);
  return UseEngine(engine, err);
}

int SocketHandle::AttachAccepted(Napi::Env env, const AcceptedSocket& accepted) {
  if (engine_ != nullptr) return UV_EALREADY;
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return UV_EINVAL;
  int err = 0;
  Engine* engine = Engine::CreateAccepted(env, loop, this, accepted, &err);
  return UseEngine(engine, err);
}

int SocketHandle::UseEngine(Engine* engine, int err) {
  if (engine == nullptr) return err;
  engine_ = engine;
  listening_ = false;
  if (!ref_) engine_->Unref();
  // An open socket must outlive its last JavaScript reference: the OS can
  // still deliver events for it.
  Ref();
  return 0;
}

void SocketHandle::ReleaseEngine() {
  // Strong references: left set, a callback's closure (which holds the
  // handle) would keep the handle alive for good.
  for (auto& callback : callbacks_) callback.Reset();
  if (engine_ == nullptr) return;
  engine_->Close();
  engine_ = nullptr;
  pending_write_.Reset();
  Unref();
}

Napi::Value SocketHandle::Open(const Napi::CallbackInfo& info) {
  return Status(info.Env(), Attach(info.Env(), IntArg(info, 0, -1), IntArg(info, 1, 0), kInvalidSocket));
}

Napi::Value SocketHandle::Adopt(const Napi::CallbackInfo& info) {
  int fd = IntArg(info, 0, -1);
  if (fd < 0) return Status(info.Env(), UV_EBADF);
  return Status(info.Env(), Attach(info.Env(), IntArg(info, 1, 0), 0, fd));
}

Napi::Value SocketHandle::Bind(const Napi::CallbackInfo& info) {
  const char* addr;
  size_t len;
  if (engine_ == nullptr) return Status(info.Env(), UV_EBADF);
  if (info.Length() < 1 || !ReadBytes(info[0], &addr, &len)) return Status(info.Env(), UV_EINVAL);
  return Status(info.Env(), engine_->Bind(addr, len));
}

Napi::Value SocketHandle::Listen(const Napi::CallbackInfo& info) {
  if (engine_ == nullptr) return Status(info.Env(), UV_EBADF);
  int err = engine_->Listen(IntArg(info, 0, 511));
  if (err == 0) listening_ = true;
  return Status(info.Env(), err);
}

Napi::Value SocketHandle::Connect(const Napi::CallbackInfo& info) {
  const char* addr;
  size_t len;
  if (engine_ == nullptr) return Status(info.Env(), UV_EBADF);
  if (info.Length() < 1 || !ReadBytes(info[0], &addr, &len)) return Status(info.Env(), UV_EINVAL);
  return Status(info.Env(), engine_->Connect(addr, len));
}

// readStart() and readStop() on a listening handle accept, as on node:net's.
Napi::Value SocketHandle::ReadStart(const Napi::CallbackInfo& info) {
  if (engine_ == nullptr) return Status(info.Env(), UV_EBADF);
  return Status(info.Env(), listening_ ? engine_->AcceptStart() : engine_->ReadStart());
}

Napi::Value SocketHandle::ReadStop(const Napi::CallbackInfo& info) {
  if (engine_ == nullptr) return Status(info.Env(), UV_EBADF);
  return Status(info.Env(), listening_ ? engine_->AcceptStop() : engine_->ReadStop());
}

// writev(chunks: Uint8Array | Uint8Array[]) → 0 written, 1 pending (onwrite
// follows), or a negative error.
Napi::Value SocketHandle::Writev(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (engine_ == nullptr) return Status(env, UV_EBADF);
  if (info.Length() < 1) return Status(env, UV_EINVAL);
  std::vector<WriteChunk>& chunks = write_chunks_;
  chunks.clear();
  WriteChunk one;
  if (ReadBytes(info[0], &one.data, &one.length)) {
    chunks.push_back(one);
  } else if (info[0].IsArray()) {
    auto list = info[0].As<Napi::Array>();
    uint32_t count = list.Length();
    for (uint32_t i = 0; i < count; i++) {
      WriteChunk chunk;
      if (!ReadBytes(list.Get(i), &chunk.data, &chunk.length)) return Status(env, UV_EINVAL);
      chunks.push_back(chunk);
    }
  } else {
    return Status(env, UV_EINVAL);
  }
  int r = engine_->Write(chunks.data(), chunks.size());
  // See "Write memory" in engine.h.
  if (r == kWritePending && !engine_->HoldWriteOwner(info[0])) pending_write_ = Napi::Persistent(info[0]);
  return Status(env, r);
}

Napi::Value SocketHandle::Shutdown(const Napi::CallbackInfo& info) {
  if (engine_ == nullptr) return Status(info.Env(), UV_EBADF);
  return Status(info.Env(), engine_->ShutdownWrite());
}

Napi::Value SocketHandle::Close(const Napi::CallbackInfo& info) {
  ReleaseEngine();
  return info.Env().Undefined();
}

Napi::Value SocketHandle::SockAddr(Napi::Env env, bool peer) {
  if (engine_ == nullptr) return Status(env, UV_EBADF);
  char storage[kMaxSockAddr] = {0};
  size_t len = sizeof(storage);
  int err = peer ? engine_->GetPeerName(storage, &len) : engine_->GetSockName(storage, &len);
  if (err != 0) return Status(env, err);
  return Napi::Buffer<char>::Copy(env, storage, len);
}

Napi::Value SocketHandle::GetSockName(const Napi::CallbackInfo& info) { return SockAddr(info.Env(), false); }
Napi::Value SocketHandle::GetPeerName(const Napi::CallbackInfo& info) { return SockAddr(info.Env(), true); }

// setsockopt(level, name, value: Uint8Array): TypeScript encodes the value
// (timeval, u64, DWORD) so this stays one line per platform.
Napi::Value SocketHandle::SetOption(const Napi::CallbackInfo& info) {
  const char* value;
  size_t len;
  if (engine_ == nullptr) return Status(info.Env(), UV_EBADF);
  if (info.Length() < 3 || !ReadBytes(info[2], &value, &len)) return Status(info.Env(), UV_EINVAL);
  return Status(info.Env(), engine_->SetOption(IntArg(info, 0, -1), IntArg(info, 1, -1), value, len));
}

// getsockopt(level, name, length) → Buffer or a negative error.
Napi::Value SocketHandle::GetOption(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (engine_ == nullptr) return Status(env, UV_EBADF);
  int length = IntArg(info, 2, 0);
  if (length <= 0 || length > 256) return Status(env, UV_EINVAL);
  std::vector<char> value(static_cast<size_t>(length));
  size_t len = value.size();
  int err = engine_->GetOption(IntArg(info, 0, -1), IntArg(info, 1, -1), value.data(), &len);
  if (err != 0) return Status(env, err);
  return Napi::Buffer<char>::Copy(env, value.data(), len);
}

// setAcceptOptions([{ level, name, value: Uint8Array, optional? }, ...]) on a listener:
// set on every socket it accepts (see Engine::SetAcceptOptions).
Napi::Value SocketHandle::SetAcceptOptions(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (engine_ == nullptr) return Status(env, UV_EBADF);
  if (info.Length() < 1 || !info[0].IsArray()) return Status(env, UV_EINVAL);
  auto list = info[0].As<Napi::Array>();
  std::vector<SocketOption> options;
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Value item = list.Get(i);
    if (!item.IsObject()) return Status(env, UV_EINVAL);
    auto object = item.As<Napi::Object>();
    Napi::Value level = object.Get("level");
    Napi::Value name = object.Get("name");
    const char* value;
    size_t len;
    if (!level.IsNumber() || !name.IsNumber() || !ReadBytes(object.Get("value"), &value, &len)) {
      return Status(env, UV_EINVAL);
    }
    bool optional = object.Get("optional").ToBoolean().Value();
    options.push_back(SocketOption{level.As<Napi::Number>().Int32Value(), name.As<Napi::Number>().Int32Value(),
                                   std::vector<char>(value, value + len), optional});
  }
  return Status(env, engine_->SetAcceptOptions(std::move(options)));
}

Napi::Value SocketHandle::RefHandle(const Napi::CallbackInfo& info) {
  ref_ = true;
  if (engine_ != nullptr) engine_->Ref();
  return info.Env().Undefined();
}

Napi::Value SocketHandle::UnrefHandle(const Napi::CallbackInfo& info) {
  ref_ = false;
  if (engine_ != nullptr) engine_->Unref();
  return info.Env().Undefined();
}

Napi::Value SocketHandle::GetFd(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), engine_ == nullptr ? -1 : static_cast<double>(engine_->socket()));
}

Napi::Value SocketHandle::GetWindowsError(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(windows_error_));
}

template <SocketHandle::Callback which>
Napi::Value SocketHandle::GetCallback(const Napi::CallbackInfo& info) {
  if (callbacks_[which].IsEmpty()) return info.Env().Undefined();
  return callbacks_[which].Value();
}

// Anything but a function clears the callback (the event is then dropped).
template <SocketHandle::Callback which>
void SocketHandle::SetCallback(const Napi::CallbackInfo& info, const Napi::Value& value) {
  if (value.IsFunction()) {
    callbacks_[which] = Napi::Persistent(value.As<Napi::Function>());
  } else {
    callbacks_[which].Reset();
  }
}

// Uses the C API: while a worker is being terminated, calls into JavaScript
// fail without an exception, and node-addon-api would turn that failure into
// a fatal error. Here it only means the environment is going away.
void SocketHandle::Emit(Callback which, std::initializer_list<napi_value> args) {
  if (callbacks_[which].IsEmpty()) return;
  napi_env env = Env();
  napi_value fn;
  napi_status status = napi_get_reference_value(env, callbacks_[which], &fn);
  if (status == napi_ok && fn == nullptr) return;
  if (status == napi_ok) {
    napi_value result;
    status = napi_make_callback(env, *async_context_, Value(), fn, args.size(), args.begin(), &result);
  }
  if (status != napi_ok) ReportPendingException(env);
}

void SocketHandle::ReportPendingException(napi_env env) {
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) != napi_ok || !pending) return;
  napi_value error;
  // A throw from a callback is the process's 'uncaughtException', as a
  // throw from a node:net event handler is.
  if (napi_get_and_clear_last_exception(env, &error) == napi_ok) napi_fatal_exception(env, error);
}

// Engine events arrive from the event loop, outside any JavaScript scope: each
// handler opens the HandleScope its values live in.
void SocketHandle::OnConnect(int status) {
  Napi::HandleScope scope(Env());
  Emit(kOnConnect, {Status(Env(), status)});
}

void SocketHandle::OnConnection(int status, AcceptedSocket* accepted) {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  if (status < 0 || accepted == nullptr) {
    Emit(kOnConnection, {Status(env, status < 0 ? status : UV_EINVAL), env.Undefined()});
    return;
  }
  auto* data = env.GetInstanceData<AddonData>();
  napi_value peer = nullptr;
  SocketHandle* handle = nullptr;
  int err = UV_ENOMEM;
  if (napi_new_instance(env, data->handle_constructor.Value(), 0, nullptr, &peer) == napi_ok) {
    handle = Unwrap(Napi::Object(env, peer));
    if (handle != nullptr) err = handle->AttachAccepted(env, *accepted);
  }
  if (err != 0) {
    CloseOsSocket(accepted->socket);
    bool pending = false;
    if (napi_is_exception_pending(env, &pending) == napi_ok && pending) {
      napi_value ignored;
      napi_get_and_clear_last_exception(env, &ignored);
    }
    Emit(kOnConnection, {Status(env, err), env.Undefined()});
    return;
  }
  Emit(kOnConnection, {Status(env, 0), peer});
}

ReadSpace SocketHandle::OnAllocRead(size_t suggested) {
  return Env().GetInstanceData<AddonData>()->read_memory.Lend(suggested);
}

// onread(nread, arrayBuffer): the chunk, an ArrayBuffer of exactly nread
// bytes that is its alone (see read_memory.h); onread(status) at the end of
// the stream or on an error.
void SocketHandle::OnRead(intptr_t nread) {
  if (nread <= 0) {
    Napi::HandleScope scope(Env());
    Emit(kOnRead, {Status(Env(), static_cast<int>(nread))});
    return;
  }
  EmitChunk(nullptr, static_cast<size_t>(nread));
}

void SocketHandle::OnReadFrom(const char* data, size_t nread) { EmitChunk(data, nread); }

// The bytes from the lent read space (data null) or from `data`, copied into
// the chunk's own ArrayBuffer.
void SocketHandle::EmitChunk(const char* data, size_t nread) {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  ReadMemory& memory = env.GetInstanceData<AddonData>()->read_memory;
  napi_value chunk = data == nullptr ? memory.Take(env, nread) : memory.Copy(env, data, nread);
  // No memory for the copy: the bytes cannot reach JavaScript, so the
  // stream fails rather than lose them silently.
  if (chunk == nullptr) {
    Emit(kOnRead, {Status(env, UV_ENOBUFS)});
    return;
  }
  Emit(kOnRead, {Status(env, static_cast<int>(nread)), chunk});
}

void SocketHandle::OnWriteDone(int status) {
  pending_write_.Reset();
  Napi::HandleScope scope(Env());
  Emit(kOnWrite, {Status(Env(), status)});
}

void SocketHandle::OnTeardown() {
  engine_ = nullptr;
  pending_write_.Reset();
  for (auto& callback : callbacks_) callback.Reset();
}

}  // namespace hvsock
