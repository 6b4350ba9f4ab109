// What the POSIX and the Windows engine do alike, once: creating an engine
// around a new, adopted or accepted socket (with the ownership rules of
// engine.h), the addresses and options of accepted sockets, and the end of
// an engine's life: Close(), the environment's cleanup hook, and freeing.
//
// Not shared, because the two differ for real: reading, writing, connecting
// and accepting (readiness on POSIX, posted operations on Windows). Both
// reference their libuv handle only while I/O is wanted, as a libuv stream
// is active only then (UpdateRef): the handle alone would say nothing, since
// a POSIX poll watch stays armed after a pause and a uv_async_t is always
// active.
#pragma once

#include "engine.h"

#include <vector>

namespace hvsock {

// The socket an engine starts around, and how it came.
struct EngineSetup {
  napi_env env;
  uv_loop_t* loop;
  EngineEvents* events;
  OsSocket socket;
  // The socket's family and protocol where known (Windows makes its accept
  // sockets from them); 0 for an accepted socket.
  int family;
  int protocol;
  // False for an adopted socket (see engine.h).
  bool owns_socket;
  // An accepted socket: the addresses its accept call reported.
  const AcceptedSocket* accepted;
};

class EngineBase : public Engine {
 public:
  // Makes the platform's engine for `setup` and starts it. On failure frees
  // it, closes the socket only if `close_on_failure`, and returns nullptr
  // with *err set.
  static Engine* Launch(const EngineSetup& setup, bool close_on_failure, int* err);

  // Engine, where both platforms do the same.
  int SetAcceptOptions(std::vector<SocketOption> options) final;
  int GetSockName(void* addr, size_t* len) final;
  int GetPeerName(void* addr, size_t* len) final;
  int SetOption(int level, int name, const void* value, size_t len) final;
  int GetOption(int level, int name, void* value, size_t* len) final;
  OsSocket socket() const final { return socket_; }
  void Close() final;
  void Ref() final;
  void Unref() final;

 protected:
  explicit EngineBase(const EngineSetup& setup);
  ~EngineBase() override = default;

  // What the platform adds. Called on the loop thread.
  //
  // Sets up the engine's libuv handles, each passed to AddHandle. Only what
  // Close() undoes: nothing here may change the socket for good.
  virtual int InitLoop() = 0;
  // The one step of taking a socket over that cannot be undone (Windows:
  // joining the completion port, which a handle never leaves). Done by Start
  // for a socket of our own, by CompleteAdoption for an adopted one.
  virtual int TakeOverSocket() = 0;
  // Closing: stops watching the socket and closes it if socket_ is still set
  // (it is not when the socket was never ours). Whatever the OS still holds
  // (posted operations) finishes later, and IoDrained says when.
  virtual void StopIo() = 0;
  // Whether nothing the engine started can still arrive; until then it is
  // not freed. Called again through MaybeFree whenever that may have changed.
  virtual bool IoDrained() { return true; }
  // Right before the engine is deleted, while the environment still exists.
  virtual void BeforeFree() {}
  // After SetOption succeeded: what the engine learned from the socket's
  // options (POSIX: its receive buffer size) may be out of date.
  virtual void OnOptionSet() {}
  // Whether the engine wants an event now: reading, accepting, writing or
  // connecting. Only then does its handle keep the loop alive.
  virtual bool WantsIo() const = 0;

  // For the platforms.
  //
  // Listen() calls this once listen() has succeeded: an adopted socket
  // becomes ours, and is taken over only now, so that every failure before
  // leaves it as its owner gave it.
  int CompleteAdoption();
  // A libuv handle the engine closes before it is freed: the engine is
  // freed when the last one has closed (Windows libuv runs close callbacks
  // in reverse order, so no single handle may free it). Sets handle->data;
  // a callback finds its engine with From().
  void AddHandle(uv_handle_t* handle);
  template <typename T, typename Handle>
  static T* From(Handle* handle) {
    return static_cast<T*>(static_cast<EngineBase*>(handle->data));
  }
  // After Close(): closes the handles, then frees the engine, once
  // IoDrained() says nothing can arrive any more.
  void MaybeFree();
  // Sets the accept options (SetAcceptOptions) on a socket being accepted.
  int ApplyAcceptOptions(OsSocket socket) const;
  // References ref_handle_ exactly while the user's ref() and WantsIo() both
  // say so; the platform calls it whenever WantsIo() may have changed.
  void UpdateRef();
  // The handle whose reference keeps the loop alive, set (unreferenced) by
  // InitLoop; refed_ says whether it is referenced now.
  uv_handle_t* ref_handle_ = nullptr;
  bool refed_ = false;

  napi_env env_;
  uv_loop_t* loop_;
  // Null once closed: nothing more is reported.
  EngineEvents* events_;
  // kInvalidSocket once closed.
  OsSocket socket_;
  bool owns_socket_;
  bool closed_ = false;

 private:
  // Sets up the loop's handles and the cleanup hook, then takes a socket of
  // our own over (TakeOverSocket).
  int Start();
  // For an engine that Start failed: frees it, closing the socket only if
  // `close_socket` says it is ours.
  void Discard(bool close_socket);
  void CloseNow();
  void Free();
  static void OnEnvTeardown(napi_async_cleanup_hook_handle handle, void* arg);
  static void OnHandleClosed(uv_handle_t* handle);

  napi_async_cleanup_hook_handle teardown_hook_ = nullptr;
  // ref()/unref() as the user set it.
  bool ref_ = true;
  static constexpr int kMaxHandles = 2;
  uv_handle_t* handles_[kMaxHandles] = {};
  int handle_count_ = 0;
  int handles_closing_ = 0;
  bool freeing_ = false;

  std::vector<SocketOption> accept_options_;
  // An accepted socket's addresses, where its accept call reported them
  // (see AcceptedSocket); empty otherwise, and then the socket is asked.
  SocketAddress local_;
  SocketAddress peer_;
};

// The platform's side, defined in engine_posix.cc or engine_win.cc. Each
// returns 0 or a negative libuv error (remembering the Windows error behind
// it: see TakeWindowsError).
//
// Whether engines can run at all (Windows: Winsock started, the completion
// port and its thread running; always 0 on POSIX).
int PlatformReady();
// A new non-blocking, non-inheritable stream socket.
int OpenSocket(int family, int protocol, OsSocket* socket);
// Whether an adopted socket is one an engine can drive (a stream socket of
// `*family`, any family if 0); may fill in *family and *protocol with what
// the socket really is.
int CheckAdoptable(OsSocket socket, int* family, int* protocol);
// The platform's engine for `setup`, not started yet.
EngineBase* NewEngine(const EngineSetup& setup);
// getsockname (or, with `peer`, getpeername), setsockopt and getsockopt.
int SocketName(OsSocket socket, bool peer, void* addr, size_t* len);
int SetSocketOption(OsSocket socket, int level, int name, const void* value, size_t len);
int GetSocketOption(OsSocket socket, int level, int name, void* value, size_t* len);

// The Windows error behind the status about to be returned (0: none);
// TakeWindowsError() hands it out.
void SetWindowsError(uint32_t error);
// A status the engine reports on its own, with no Windows error behind it.
int FailWith(int status);

}  // namespace hvsock
