// The engine life cycle both platforms share: see engine_base.h.
#include "engine_base.h"

#include <cstring>

namespace hvsock {
namespace {

// See TakeWindowsError() in engine.h. Only the Windows engine sets it (it is
// always 0 on POSIX), on the loop thread.
thread_local uint32_t last_windows_error = 0;

int CopyOut(const SocketAddress& from, void* addr, size_t* len) {
  if (*len < from.length) return FailWith(UV_ENOBUFS);
  std::memcpy(addr, from.bytes, from.length);
  *len = from.length;
  return 0;
}

}  // namespace

void SetWindowsError(uint32_t error) { last_windows_error = error; }

int FailWith(int status) {
  last_windows_error = 0;
  return status;
}

uint32_t TakeWindowsError() {
  uint32_t error = last_windows_error;
  last_windows_error = 0;
  return error;
}

// An adopted socket is only checked here (on POSIX also made non-blocking,
// as every socket an engine drives must be); the one step that cannot be
// undone (TakeOverSocket) waits for Listen().
Engine* Engine::Create(napi_env env, uv_loop_t* loop, EngineEvents* events, int family, int protocol,
                       OsSocket adopt, int* err) {
  *err = PlatformReady();
  if (*err != 0) return nullptr;
  bool adopted = adopt != kInvalidSocket;
  EngineSetup setup{env, loop, events, adopt, family, protocol, /*owns_socket=*/!adopted, /*accepted=*/nullptr};
  if (adopted) {
    *err = CheckAdoptable(adopt, &setup.family, &setup.protocol);
  } else {
    *err = OpenSocket(family, protocol, &setup.socket);
  }
  if (*err != 0) return nullptr;
  // A socket we were handed stays open: nothing was taken over.
  return EngineBase::Launch(setup, /*close_on_failure=*/!adopted, err);
}

Engine* Engine::CreateAccepted(napi_env env, uv_loop_t* loop, EngineEvents* events,
                               const AcceptedSocket& accepted, int* err) {
  EngineSetup setup{env, loop, events, accepted.socket, 0, 0, /*owns_socket=*/true, &accepted};
  // On failure the caller still owns the socket and closes it.
  return EngineBase::Launch(setup, /*close_on_failure=*/false, err);
}

Engine* EngineBase::Launch(const EngineSetup& setup, bool close_on_failure, int* err) {
  EngineBase* engine = NewEngine(setup);
  *err = engine->Start();
  if (*err != 0) {
    engine->Discard(close_on_failure);
    return nullptr;
  }
  return engine;
}

EngineBase::EngineBase(const EngineSetup& setup)
    : env_(setup.env),
      loop_(setup.loop),
      events_(setup.events),
      socket_(setup.socket),
      owns_socket_(setup.owns_socket) {
  if (setup.accepted != nullptr) {
    local_ = setup.accepted->local;
    peer_ = setup.accepted->peer;
  }
}

int EngineBase::Start() {
  int err = InitLoop();
  if (err != 0) return err;
  // Until the environment goes away the engine holds OS resources and libuv
  // handles (and on Windows references into the environment), and teardown
  // must wait until the loop has let go of them; without the hook the engine
  // could outlive its environment, so it is not optional.
  if (napi_add_async_cleanup_hook(env_, OnEnvTeardown, this, &teardown_hook_) != napi_ok) {
    teardown_hook_ = nullptr;
    return FailWith(UV_ENOMEM);
  }
  return owns_socket_ ? TakeOverSocket() : 0;
}

void EngineBase::Discard(bool close_socket) {
  if (!close_socket) socket_ = kInvalidSocket;
  Close();
}

int EngineBase::CompleteAdoption() {
  if (owns_socket_) return 0;
  int err = TakeOverSocket();
  if (err != 0) return err;
  owns_socket_ = true;
  return 0;
}

void EngineBase::AddHandle(uv_handle_t* handle) {
  handle->data = this;
  handles_[handle_count_++] = handle;
}

int EngineBase::SetAcceptOptions(std::vector<SocketOption> options) {
  accept_options_ = std::move(options);
  return 0;
}

int EngineBase::ApplyAcceptOptions(OsSocket socket) const {
  for (const SocketOption& option : accept_options_) {
    int err = SetSocketOption(socket, option.level, option.name, option.value.data(), option.value.size());
    if (err != 0 && !option.optional) return err;
  }
  return 0;
}

int EngineBase::GetSockName(void* addr, size_t* len) {
  if (local_.length > 0) return CopyOut(local_, addr, len);
  return SocketName(socket_, /*peer=*/false, addr, len);
}

int EngineBase::GetPeerName(void* addr, size_t* len) {
  if (peer_.length > 0) return CopyOut(peer_, addr, len);
  return SocketName(socket_, /*peer=*/true, addr, len);
}

int EngineBase::SetOption(int level, int name, const void* value, size_t len) {
  int err = SetSocketOption(socket_, level, name, value, len);
  if (err == 0) OnOptionSet();
  return err;
}

int EngineBase::GetOption(int level, int name, void* value, size_t* len) {
  return GetSocketOption(socket_, level, name, value, len);
}

void EngineBase::Close() {
  events_ = nullptr;
  CloseNow();
}

void EngineBase::Ref() {
  ref_ = true;
  UpdateRef();
}

void EngineBase::Unref() {
  ref_ = false;
  UpdateRef();
}

void EngineBase::UpdateRef() {
  if (ref_handle_ == nullptr || closed_) return;
  bool want = ref_ && WantsIo();
  if (want == refed_) return;
  refed_ = want;
  if (want) {
    uv_ref(ref_handle_);
  } else {
    uv_unref(ref_handle_);
  }
}

void EngineBase::CloseNow() {
  if (closed_) return;
  closed_ = true;
  // An adoption that never completed: the socket is still its owner's.
  if (!owns_socket_) socket_ = kInvalidSocket;
  StopIo();
  socket_ = kInvalidSocket;
  MaybeFree();
}

void EngineBase::MaybeFree() {
  if (freeing_ || !IoDrained()) return;
  freeing_ = true;
  for (int i = 0; i < handle_count_; i++) {
    handles_closing_++;
    uv_close(handles_[i], OnHandleClosed);
  }
  if (handles_closing_ == 0) Free();
}

void EngineBase::OnHandleClosed(uv_handle_t* handle) {
  EngineBase* self = From<EngineBase>(handle);
  if (--self->handles_closing_ == 0) self->Free();
}

void EngineBase::Free() {
  BeforeFree();
  if (teardown_hook_ != nullptr) napi_remove_async_cleanup_hook(teardown_hook_);
  delete this;
}

void EngineBase::OnEnvTeardown(napi_async_cleanup_hook_handle, void* arg) {
  auto* self = static_cast<EngineBase*>(arg);
  EngineEvents* events = self->events_;
  self->events_ = nullptr;
  if (events != nullptr) events->OnTeardown();
  // If a close is already under way, freeing the engine completes the hook.
  self->CloseNow();
}

}  // namespace hvsock
