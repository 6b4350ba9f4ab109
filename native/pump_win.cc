// Windows engine: overlapped Winsock I/O on one I/O completion port for the
// whole process, the model go-winio uses for AF_HYPERV. libuv's own Windows
// poll emulation would fall back to a select() thread for a provider it does
// not know, so sockets are not handed to libuv at all.
//
// One thread waits on the port. It hands each finished operation to the pump
// that issued it, and the pump's uv_async_t wakes the loop thread of that
// pump's environment, where the completion is turned into a listener event.
// Nothing here depends on the address family: the same engine runs on
// AF_INET sockets, which is how it is exercised where Hyper-V is absent.
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <winsock2.h>
#include <mswsock.h>
#include <windows.h>

#include "pump.h"

#include <climits>
#include <cstring>
#include <vector>

namespace hvsock {
namespace {

// AcceptEx wants room for each address plus 16 bytes.
constexpr DWORD kAcceptAddressLength = sizeof(SOCKADDR_STORAGE) + 16;
// Accepts kept posted on a listener, so a burst of connections does not wait
// for one loop turn per connection.
constexpr int kSimultaneousAccepts = 8;

int Translate(DWORD error) { return uv_translate_sys_error(static_cast<int>(error)); }
int LastSocketError() { return Translate(static_cast<DWORD>(WSAGetLastError())); }

enum class OpKind { kConnect, kAccept, kRead, kWrite };

class WinPump;

// One overlapped operation. The OVERLAPPED, and every byte the kernel may
// read or write for it, must stay valid until the port has returned it, so an
// op lives until the loop thread has seen it, even if the socket was closed in
// between: accept ops (with their address space and accept socket) on the
// heap, the one connect, read and write op of a socket inside its pump, which
// outlives them all. The read op's buffer is the pump's own; the write op's
// memory belongs to JavaScript buffers the pump holds a reference to (see
// HoldWriteOwner). CancelIoEx only asks for an operation to end: until the
// port returns it (aborted or not), the kernel may still be using it.
struct Op {
  explicit Op(OpKind k, WinPump* p) : kind(k), pump(p) {}
  // Before each use of a reused op.
  void Reset() {
    overlapped = OVERLAPPED{};
    bytes = 0;
    error = 0;
    resolved = false;
  }
  OVERLAPPED overlapped{};
  OpKind kind;
  WinPump* pump;
  Op* next = nullptr;
  // Filled in by the completion thread.
  DWORD bytes = 0;
  DWORD error = 0;
  // The error is already a Winsock error: the op was completed by us (held
  // data, a failure while posting), not returned by the port.
  bool resolved = false;
  // Accept only: the socket AcceptEx fills, and where it writes addresses.
  SOCKET accepted = INVALID_SOCKET;
  char addresses[2 * kAcceptAddressLength] = {};
};

// The process's completion port and the one thread that waits on it. Both
// live as long as the process: environments come and go, the port stays.
class CompletionPort {
 public:
  static HANDLE Get() {
    static HANDLE port = Start();
    return port;
  }

 private:
  static HANDLE Start();
  static DWORD WINAPI Run(void* port);
};

// Winsock functions that exist only as pointers asked of the provider, which
// may differ per address family, so they are asked of each socket.
template <typename Fn>
Fn ExtensionFunction(SOCKET socket, GUID id) {
  Fn fn = nullptr;
  DWORD bytes = 0;
  if (WSAIoctl(socket, SIO_GET_EXTENSION_FUNCTION_POINTER, &id, sizeof(id), &fn, sizeof(fn), &bytes, nullptr,
               nullptr) == SOCKET_ERROR) {
    return nullptr;
  }
  return fn;
}

SOCKET NewSocket(int family, int protocol) {
  SOCKET s = WSASocketW(family, SOCK_STREAM, protocol, nullptr, 0, WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
  if (s == INVALID_SOCKET && WSAGetLastError() == WSAEINVAL) {
    // Before Windows 7 SP1 the no-inherit flag did not exist.
    s = WSASocketW(family, SOCK_STREAM, protocol, nullptr, 0, WSA_FLAG_OVERLAPPED);
    if (s != INVALID_SOCKET) SetHandleInformation(reinterpret_cast<HANDLE>(s), HANDLE_FLAG_INHERIT, 0);
  }
  return s;
}

class WinPump final : public Pump {
 public:
  WinPump(napi_env env, PumpListener* listener, SOCKET socket, int family, int protocol)
      : env_(env), listener_(listener), socket_(socket), family_(family), protocol_(protocol) {
    InitializeSRWLock(&lock_);
  }

  int Init(uv_loop_t* loop) {
    if (CreateIoCompletionPort(reinterpret_cast<HANDLE>(socket_), CompletionPort::Get(), 0, 0) == nullptr) {
      return Translate(GetLastError());
    }
    int err = uv_async_init(loop, &async_, OnAsync);
    if (err != 0) return err;
    async_.data = this;
    async_ready_ = true;
    // The loop stays alive for this socket only while I/O is under way.
    uv_unref(reinterpret_cast<uv_handle_t*>(&async_));
    // Without the hook the pump could outlive its environment (and the
    // references it holds in it), so it is not optional.
    if (napi_add_async_cleanup_hook(env_, OnEnvTeardown, this, &teardown_hook_) != napi_ok) {
      teardown_hook_ = nullptr;
      return UV_ENOMEM;
    }
    return 0;
  }

  int Bind(const void* addr, size_t len) override {
    if (::bind(socket_, static_cast<const sockaddr*>(addr), static_cast<int>(len)) == SOCKET_ERROR) {
      return LastSocketError();
    }
    return 0;
  }

  int Listen(int backlog) override {
    if (::listen(socket_, backlog) == SOCKET_ERROR) return LastSocketError();
    if (family_ <= 0) {
      // An adopted socket: accept sockets must match it, so ask what it is.
      WSAPROTOCOL_INFOW info{};
      int len = sizeof(info);
      if (getsockopt(socket_, SOL_SOCKET, SO_PROTOCOL_INFOW, reinterpret_cast<char*>(&info), &len) == SOCKET_ERROR) {
        return LastSocketError();
      }
      family_ = info.iAddressFamily;
      protocol_ = info.iProtocol;
    }
    accept_ex_ = ExtensionFunction<LPFN_ACCEPTEX>(socket_, WSAID_ACCEPTEX);
    if (accept_ex_ == nullptr) return LastSocketError();
    listening_ = true;
    return 0;
  }

  int Connect(const void* addr, size_t len) override {
    // ConnectEx needs a bound socket: bind to the wildcard address of the
    // target's family (all zeros after the family, for AF_HYPERV as for IP).
    SOCKADDR_STORAGE local{};
    if (len > sizeof(local) || len < sizeof(local.ss_family)) return UV_EINVAL;
    local.ss_family = static_cast<const sockaddr*>(addr)->sa_family;
    if (::bind(socket_, reinterpret_cast<sockaddr*>(&local), static_cast<int>(len)) == SOCKET_ERROR &&
        WSAGetLastError() != WSAEINVAL /* already bound */) {
      return LastSocketError();
    }
    auto connect_ex = ExtensionFunction<LPFN_CONNECTEX>(socket_, WSAID_CONNECTEX);
    if (connect_ex == nullptr) return LastSocketError();
    if (connecting_) return UV_EALREADY;
    connect_op_.Reset();
    if (!connect_ex(socket_, static_cast<const sockaddr*>(addr), static_cast<int>(len), nullptr, 0, nullptr,
                    &connect_op_.overlapped) &&
        WSAGetLastError() != ERROR_IO_PENDING) {
      return LastSocketError();
    }
    // Even an immediate success is reported through the port, so the
    // outcome always arrives asynchronously, as on POSIX.
    outstanding_++;
    connecting_ = true;
    UpdateRef();
    return 0;
  }

  int ReadStart(char* buffer, size_t length) override {
    shared_buffer_ = buffer;
    shared_length_ = length;
    reading_ = true;
    UpdateRef();
    return listening_ ? StartAccepting() : StartReading();
  }

  int ReadStop() override {
    // Posted operations stay posted; what they bring is held until the next
    // ReadStart, so stopping never loses data or connections.
    reading_ = false;
    UpdateRef();
    return 0;
  }

  int Write(const WriteChunk* chunks, size_t count) override {
    if (writing_) return UV_EBUSY;
    write_buffers_.clear();
    write_buffers_.reserve(count);
    for (size_t i = 0; i < count; i++) {
      if (chunks[i].length == 0) continue;
      if (chunks[i].length > ULONG_MAX) return UV_EINVAL;
      write_buffers_.push_back(WSABUF{static_cast<ULONG>(chunks[i].length), const_cast<char*>(chunks[i].data)});
    }
    if (write_buffers_.empty()) return kWriteDone;
    write_op_.Reset();
    if (WSASend(socket_, write_buffers_.data(), static_cast<DWORD>(write_buffers_.size()), nullptr, 0,
                &write_op_.overlapped, nullptr) == SOCKET_ERROR &&
        WSAGetLastError() != WSA_IO_PENDING) {
      return LastSocketError();
    }
    // The buffers belong to the OS until the completion: always pending.
    writing_ = true;
    outstanding_++;
    UpdateRef();
    return kWritePending;
  }

  // Loop thread, inside the JavaScript call that posted the write, so its
  // completion cannot have been dispatched yet. The reference outlives
  // Close(): it is dropped only when the port returns the write.
  bool HoldWriteOwner(napi_value owner) override {
    if (!writing_ || write_owner_ != nullptr) return false;
    if (napi_create_reference(env_, owner, 1, &write_owner_) != napi_ok) {
      // Not expected for a buffer or an array; the caller then holds it, as
      // far as Close().
      write_owner_ = nullptr;
      return false;
    }
    return true;
  }

  int ShutdownWrite() override {
    if (::shutdown(socket_, SD_SEND) == SOCKET_ERROR) return LastSocketError();
    return 0;
  }

  int GetSockName(void* addr, size_t* len) override {
    int l = static_cast<int>(*len);
    if (::getsockname(socket_, static_cast<sockaddr*>(addr), &l) == SOCKET_ERROR) return LastSocketError();
    *len = static_cast<size_t>(l);
    return 0;
  }

  int GetPeerName(void* addr, size_t* len) override {
    int l = static_cast<int>(*len);
    if (::getpeername(socket_, static_cast<sockaddr*>(addr), &l) == SOCKET_ERROR) return LastSocketError();
    *len = static_cast<size_t>(l);
    return 0;
  }

  int SetOption(int level, int name, const void* value, size_t len) override {
    if (setsockopt(socket_, level, name, static_cast<const char*>(value), static_cast<int>(len)) == SOCKET_ERROR) {
      return LastSocketError();
    }
    return 0;
  }

  int GetOption(int level, int name, void* value, size_t* len) override {
    int l = static_cast<int>(*len);
    if (getsockopt(socket_, level, name, static_cast<char*>(value), &l) == SOCKET_ERROR) return LastSocketError();
    *len = static_cast<size_t>(l);
    return 0;
  }

  void Ref() override {
    ref_ = true;
    UpdateRef();
  }

  void Unref() override {
    ref_ = false;
    UpdateRef();
  }

  OsSocket socket() const override { return static_cast<OsSocket>(socket_); }

  void Close() override {
    listener_ = nullptr;
    CloseNow();
  }

  // For a pump whose Init failed: nothing is registered with the loop yet.
  void Discard(bool close_socket) {
    if (!close_socket) socket_ = INVALID_SOCKET;
    Close();
  }

  // Completion thread: queue the op for the loop thread and wake it. The
  // wake-up happens under the lock, so the loop thread, which takes the lock
  // before it frees the pump, can never free it under our feet.
  void Complete(Op* op) {
    AcquireSRWLockExclusive(&lock_);
    op->next = nullptr;
    if (completed_tail_ == nullptr) {
      completed_head_ = op;
    } else {
      completed_tail_->next = op;
    }
    completed_tail_ = op;
    uv_async_send(&async_);
    ReleaseSRWLockExclusive(&lock_);
  }

 private:
  ~WinPump() override = default;

  // Loop thread: an op that is already finished (an error found while
  // posting it, or data held back by ReadStop) goes the same way as a real
  // completion, so listener events never fire inside a JavaScript call.
  void CompleteLater(Op* op, DWORD error) {
    op->error = error;
    op->resolved = true;
    outstanding_++;
    Complete(op);
  }

  int StartReading() {
    if (read_posted_ || eof_or_error_delivered_) return 0;
    if (read_storage_.empty()) read_storage_.resize(shared_length_);
    read_posted_ = true;
    if (read_held_) {
      read_held_ = false;
      CompleteLater(&read_op_, read_op_.error);
      return 0;
    }
    read_op_.Reset();
    WSABUF buffer{static_cast<ULONG>(read_storage_.size()), read_storage_.data()};
    DWORD flags = 0;
    if (WSARecv(socket_, &buffer, 1, nullptr, &flags, &read_op_.overlapped, nullptr) == SOCKET_ERROR &&
        WSAGetLastError() != WSA_IO_PENDING) {
      CompleteLater(&read_op_, static_cast<DWORD>(WSAGetLastError()));
      return 0;
    }
    outstanding_++;
    return 0;
  }

  int StartAccepting() {
    // Connections accepted while stopped are handed over from the loop, not
    // inside this call (see DrainCompleted).
    if (!held_accepts_.empty()) uv_async_send(&async_);
    int first_error = 0;
    while (accepts_posted_ < kSimultaneousAccepts) {
      int err = PostAccept();
      if (err != 0) {
        first_error = err;
        break;
      }
    }
    // With nothing posted, the listener would never hear of a connection again.
    return accepts_posted_ == 0 ? first_error : 0;
  }

  int PostAccept() {
    SOCKET s = NewSocket(family_, protocol_);
    if (s == INVALID_SOCKET) return LastSocketError();
    auto* op = new Op(OpKind::kAccept, this);
    op->accepted = s;
    DWORD received = 0;
    if (!accept_ex_(socket_, s, op->addresses, 0, kAcceptAddressLength, kAcceptAddressLength, &received,
                    &op->overlapped) &&
        WSAGetLastError() != ERROR_IO_PENDING) {
      int err = LastSocketError();
      closesocket(s);
      delete op;
      return err;
    }
    accepts_posted_++;
    outstanding_++;
    return 0;
  }

  static void OnAsync(uv_async_t* handle) { static_cast<WinPump*>(handle->data)->DrainCompleted(); }

  void DrainCompleted() {
    // Connections held while stopped are older than anything just completed.
    if (listening_ && reading_ && !held_accepts_.empty()) DeliverHeldAccepts();
    AcquireSRWLockExclusive(&lock_);
    Op* op = completed_head_;
    completed_head_ = completed_tail_ = nullptr;
    ReleaseSRWLockExclusive(&lock_);
    while (op != nullptr) {
      Op* next = op->next;
      outstanding_--;
      Dispatch(op);
      op = next;
    }
    if (closed_) {
      MaybeFree();
    } else {
      UpdateRef();
    }
  }

  void DeliverHeldAccepts() {
    std::vector<SOCKET> held;
    held.swap(held_accepts_);
    for (SOCKET s : held) {
      if (closed_ || listener_ == nullptr) {
        closesocket(s);
      } else if (!reading_) {
        held_accepts_.push_back(s);  // stopped again by a connection handler
      } else {
        listener_->OnConnection(0, static_cast<OsSocket>(s));
      }
    }
  }

  // The error of a finished operation as Winsock names it: the completion
  // thread only sees the generic Windows error the kernel status maps to
  // (ERROR_CONNECTION_REFUSED rather than WSAECONNREFUSED, for instance).
  DWORD SocketError(Op* op) {
    if (op->error == 0 || op->resolved || closed_) return op->error;
    DWORD bytes = 0, flags = 0;
    if (WSAGetOverlappedResult(socket_, &op->overlapped, &bytes, FALSE, &flags)) return op->error;
    DWORD wsa = static_cast<DWORD>(WSAGetLastError());
    return wsa != 0 ? wsa : op->error;
  }

  void Dispatch(Op* op) {
    switch (op->kind) {
      case OpKind::kConnect:
        return OnConnectDone(op);
      case OpKind::kAccept:
        return OnAcceptDone(op);
      case OpKind::kRead:
        return OnReadDone(op);
      case OpKind::kWrite:
        return OnWriteDone(op);
    }
  }

  void OnConnectDone(Op* op) {
    DWORD error = SocketError(op);
    if (closed_) return;
    connecting_ = false;
    int status = 0;
    if (error != 0) {
      status = Translate(error);
    } else if (setsockopt(socket_, SOL_SOCKET, SO_UPDATE_CONNECT_CONTEXT, nullptr, 0) == SOCKET_ERROR) {
      // Without the context, shutdown and getpeername do not work.
      status = LastSocketError();
    }
    if (listener_ != nullptr) listener_->OnConnect(status);
  }

  void OnAcceptDone(Op* op) {
    SOCKET s = op->accepted;
    DWORD error = SocketError(op);
    delete op;
    accepts_posted_--;
    if (closed_) {
      closesocket(s);
      return;
    }
    if (error == 0 &&
        setsockopt(s, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT, reinterpret_cast<char*>(&socket_), sizeof(socket_)) ==
            SOCKET_ERROR) {
      error = static_cast<DWORD>(WSAGetLastError());
    }
    if (error != 0) {
      closesocket(s);
      // A connection that died before we took it is nobody's business;
      // anything else is the listener's.
      bool aborted = error == WSAECONNRESET || error == ERROR_NETNAME_DELETED || error == WSAECONNABORTED;
      if (!aborted && listener_ != nullptr) listener_->OnConnection(Translate(error), kInvalidSocket);
    } else if (!reading_) {
      held_accepts_.push_back(s);
    } else if (listener_ != nullptr) {
      listener_->OnConnection(0, static_cast<OsSocket>(s));
    } else {
      closesocket(s);
    }
    if (!closed_ && reading_) RepostAccept();
  }

  void RepostAccept() {
    int err = PostAccept();
    if (err != 0 && listener_ != nullptr) listener_->OnConnection(err, kInvalidSocket);
  }

  void OnReadDone(Op* op) {
    read_posted_ = false;
    if (closed_) return;
    DWORD error = SocketError(op);
    if (!reading_) {
      // Stopped while the read was posted: keep what it brought.
      op->error = error;
      read_held_ = true;
      return;
    }
    intptr_t nread;
    if (error != 0) {
      nread = Translate(error);
    } else if (op->bytes == 0) {
      nread = UV_EOF;
    } else {
      nread = static_cast<intptr_t>(op->bytes);
    }
    if (nread < 0) {
      // End of stream or an error is final, as on POSIX.
      reading_ = false;
      eof_or_error_delivered_ = true;
      if (listener_ != nullptr) listener_->OnRead(nread);
      return;
    }
    std::memcpy(shared_buffer_, read_storage_.data(), op->bytes);
    if (listener_ != nullptr) listener_->OnRead(nread);
    if (!closed_ && reading_) StartReading();
  }

  void OnWriteDone(Op* op) {
    DWORD error = SocketError(op);
    writing_ = false;
    // The port has returned the write, so the kernel is done with the
    // buffers: they may go now, and not before, closed socket or not. This
    // runs on the loop thread (napi calls are not allowed on the port
    // thread), also while environment teardown waits for our cleanup hook,
    // which keeps the napi_env alive until Free() removes it.
    write_buffers_.clear();
    ReleaseWriteOwner();
    if (closed_) return;
    if (listener_ != nullptr) listener_->OnWriteDone(error != 0 ? Translate(error) : 0);
  }

  void UpdateRef() {
    if (!async_ready_ || closed_) return;
    bool busy = reading_ || connecting_ || writing_;
    bool want = ref_ && busy;
    if (want == refed_) return;
    refed_ = want;
    if (want) {
      uv_ref(reinterpret_cast<uv_handle_t*>(&async_));
    } else {
      uv_unref(reinterpret_cast<uv_handle_t*>(&async_));
    }
  }

  void CloseNow() {
    if (closed_) return;
    closed_ = true;
    if (socket_ != INVALID_SOCKET) {
      // Every posted operation now completes (aborted, or done if it got
      // there first) through the port. The pump lives until the last one is
      // back, and with it what the kernel may still be reading or writing:
      // the read buffer, the accept ops and their sockets, the write's
      // JavaScript buffers (released in OnWriteDone, not here).
      CancelIoEx(reinterpret_cast<HANDLE>(socket_), nullptr);
      closesocket(socket_);
      socket_ = INVALID_SOCKET;
    }
    for (SOCKET s : held_accepts_) closesocket(s);
    held_accepts_.clear();
    // Until the aborted operations are back the loop must keep polling, as
    // it does for a closing handle: environment teardown spins uv_run until
    // our cleanup hook is done, and an unreferenced handle would let uv_run
    // return without ever looking at the port.
    if (async_ready_ && outstanding_ > 0 && !refed_) {
      uv_ref(reinterpret_cast<uv_handle_t*>(&async_));
      refed_ = true;
    }
    MaybeFree();
  }

  void MaybeFree() {
    if (outstanding_ > 0 || freeing_) return;
    freeing_ = true;
    // No operation is left, so the completion thread is done with us; the
    // lock makes sure it has also left Complete().
    AcquireSRWLockExclusive(&lock_);
    ReleaseSRWLockExclusive(&lock_);
    if (async_ready_) {
      uv_close(reinterpret_cast<uv_handle_t*>(&async_), OnHandleClosed);
    } else {
      Free();
    }
  }

  static void OnHandleClosed(uv_handle_t* handle) { static_cast<WinPump*>(handle->data)->Free(); }

  // Loop thread only.
  void ReleaseWriteOwner() {
    if (write_owner_ == nullptr) return;
    napi_delete_reference(env_, write_owner_);
    write_owner_ = nullptr;
  }

  void Free() {
    // Nothing left: the write op, which held it, is back (see MaybeFree).
    // Released before the hook goes, while the environment surely exists.
    ReleaseWriteOwner();
    if (teardown_hook_ != nullptr) napi_remove_async_cleanup_hook(teardown_hook_);
    delete this;
  }

  static void OnEnvTeardown(napi_async_cleanup_hook_handle, void* arg) {
    auto* self = static_cast<WinPump*>(arg);
    PumpListener* listener = self->listener_;
    self->listener_ = nullptr;
    if (listener != nullptr) listener->OnTeardown();
    self->CloseNow();
  }

  napi_env env_;
  PumpListener* listener_;
  SOCKET socket_;
  int family_;
  int protocol_;
  uv_async_t async_{};
  bool async_ready_ = false;
  napi_async_cleanup_hook_handle teardown_hook_ = nullptr;
  SRWLOCK lock_;
  Op* completed_head_ = nullptr;
  Op* completed_tail_ = nullptr;

  int outstanding_ = 0;
  bool closed_ = false;
  bool freeing_ = false;
  bool ref_ = true;
  bool refed_ = false;
  bool listening_ = false;
  bool connecting_ = false;
  bool reading_ = false;

  LPFN_ACCEPTEX accept_ex_ = nullptr;
  int accepts_posted_ = 0;
  std::vector<SOCKET> held_accepts_;

  Op connect_op_{OpKind::kConnect, this};

  char* shared_buffer_ = nullptr;
  size_t shared_length_ = 0;
  Op read_op_{OpKind::kRead, this};
  std::vector<char> read_storage_;
  bool read_posted_ = false;
  bool read_held_ = false;
  bool eof_or_error_delivered_ = false;

  Op write_op_{OpKind::kWrite, this};
  bool writing_ = false;
  std::vector<WSABUF> write_buffers_;
  // The JavaScript value (a buffer or an array of them) the posted write
  // reads from, held from HoldWriteOwner until the port returns the write.
  napi_ref write_owner_ = nullptr;
};

HANDLE CompletionPort::Start() {
  HANDLE port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, nullptr, 0, 1);
  if (port == nullptr) return nullptr;
  HANDLE thread = CreateThread(nullptr, 64 * 1024, Run, port, STACK_SIZE_PARAM_IS_A_RESERVATION, nullptr);
  if (thread == nullptr) {
    CloseHandle(port);
    return nullptr;
  }
  CloseHandle(thread);
  return port;
}

DWORD WINAPI CompletionPort::Run(void* port) {
  for (;;) {
    DWORD bytes = 0;
    ULONG_PTR key = 0;
    OVERLAPPED* overlapped = nullptr;
    BOOL ok = GetQueuedCompletionStatus(static_cast<HANDLE>(port), &bytes, &key, &overlapped, INFINITE);
    if (overlapped == nullptr) continue;  // nothing dequeued; only ops are ever posted
    Op* op = CONTAINING_RECORD(overlapped, Op, overlapped);
    op->bytes = bytes;
    op->error = ok ? 0 : GetLastError();
    op->pump->Complete(op);
  }
}

int CheckAdoptable(SOCKET s, int family) {
  int type = 0;
  int len = sizeof(type);
  if (getsockopt(s, SOL_SOCKET, SO_TYPE, reinterpret_cast<char*>(&type), &len) == SOCKET_ERROR) {
    return LastSocketError();
  }
  if (type != SOCK_STREAM) return UV_EPROTOTYPE;
  WSAPROTOCOL_INFOW info{};
  len = sizeof(info);
  if (getsockopt(s, SOL_SOCKET, SO_PROTOCOL_INFOW, reinterpret_cast<char*>(&info), &len) == SOCKET_ERROR) {
    return LastSocketError();
  }
  if (family > 0 && info.iAddressFamily != family) return UV_EAFNOSUPPORT;
  return 0;
}

int StartWinsock() {
  // Node has started Winsock already; this is only a reference count.
  static int result = [] {
    WSADATA data;
    return WSAStartup(MAKEWORD(2, 2), &data) == 0 ? 0 : Translate(static_cast<DWORD>(WSAGetLastError()));
  }();
  return result;
}

}  // namespace

Pump* Pump::Create(napi_env env, uv_loop_t* loop, PumpListener* listener, int family, int protocol,
                   OsSocket adopt, int* err) {
  *err = StartWinsock();
  if (*err != 0) return nullptr;
  if (CompletionPort::Get() == nullptr) {
    *err = UV_ENOMEM;
    return nullptr;
  }
  SOCKET s;
  if (adopt == kInvalidSocket) {
    s = NewSocket(family, protocol);
    if (s == INVALID_SOCKET) {
      *err = LastSocketError();
      return nullptr;
    }
  } else {
    s = static_cast<SOCKET>(adopt);
    if (family != kAcceptedFamily) {
      *err = CheckAdoptable(s, family);
      if (*err != 0) return nullptr;
      family = 0;  // looked up when needed (Listen)
    }
  }
  auto* pump = new WinPump(env, listener, s, family, protocol);
  *err = pump->Init(loop);
  if (*err != 0) {
    pump->Discard(/*close_socket=*/adopt == kInvalidSocket);
    return nullptr;
  }
  return pump;
}

void CloseOsSocket(OsSocket socket) { closesocket(static_cast<SOCKET>(socket)); }

int LocalCid(uint32_t* cid) {
  (void)cid;
  return UV_ENOSYS;
}

int ProbeFamily(int family, int protocol) {
  int err = StartWinsock();
  if (err != 0) return err;
  SOCKET s = NewSocket(family, protocol);
  if (s == INVALID_SOCKET) return LastSocketError();
  closesocket(s);
  return 0;
}

}  // namespace hvsock
