// Windows engine: overlapped Winsock I/O on one I/O completion port for the
// whole process, the model go-winio uses for AF_HYPERV. libuv's own Windows
// poll emulation would fall back to a select() thread for a provider it does
// not know, so sockets are not handed to libuv at all.
//
// One thread waits on the port. It hands each finished operation to the engine
// that issued it, and the engine's uv_async_t wakes the loop thread of that
// engine's environment, where the completion is turned into a listener event.
// Nothing here depends on the address family: the same engine runs on
// AF_INET sockets, which is how it is exercised where Hyper-V is absent.
// Creating, adopting, closing and freeing an engine are shared with POSIX
// (engine_base.cc); this file holds the Winsock calls and the completion handling.
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <winsock2.h>
#include <ws2tcpip.h>
#include <mswsock.h>
#include <windows.h>
// After windows.h: it needs ADDRESS_FAMILY and GUID.
#include <hvsocket.h>

#include "engine_base.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace hvsock {
namespace {

// Not in every SDK's headers.
constexpr int kAfHyperV = 34;

// AcceptEx wants room for each address plus 16 bytes. The slots are sized for
// the listener's own family: SOCKADDR_HV + 16 = 52 bytes on Hyper-V, as
// go-winio sizes them. The op's buffer fits the largest family.
constexpr DWORD kMaxAcceptAddressLength = sizeof(SOCKADDR_STORAGE) + 16;
DWORD AcceptAddressLength(int family) {
  switch (family) {
    case AF_INET:
      return sizeof(sockaddr_in) + 16;
    case AF_INET6:
      return sizeof(sockaddr_in6) + 16;
    case kAfHyperV:
      return sizeof(SOCKADDR_HV) + 16;
    default:
      return kMaxAcceptAddressLength;
  }
}

// Accepts kept posted on a listener, so a burst of connections does not wait
// for one loop turn per connection.
constexpr int kSimultaneousAccepts = 8;
// How soon a listener with no accept posted tries again (libuv's answer to
// EMFILE is to keep trying; a timer keeps that from spinning).
constexpr uint64_t kAcceptRetryMs = 100;

// Each reading socket's own posted receive buffer (copied into JavaScript's
// memory when it completes).
constexpr size_t kReadSize = 64 * 1024;

// Each WSASend posts at most this much of a write; the rest follows when it
// completes. An overlapped send keeps its pages locked in memory until then,
// so an uncapped 1 GiB write would pin 1 GiB at once; and the continuation
// after a partial completion (which the hvsocket provider may deliver:
// go-winio loops on short writes) then runs on every write above 1 MiB,
// instead of on a rare occasion no test produces.
constexpr size_t kMaxSendBytes = 1 << 20;
// And at most this many buffers, as IOV_MAX bounds a writev on POSIX.
constexpr size_t kMaxSendBuffers = 1024;

// A status for a Windows error, remembered for TakeWindowsError().
int Fail(DWORD error) {
  SetWindowsError(error);
  return uv_translate_sys_error(static_cast<int>(error));
}
int FailLastSocketError() { return Fail(static_cast<DWORD>(WSAGetLastError())); }

enum class OpKind { kConnect, kAccept, kRead, kWrite };

class WinEngine;

// One overlapped operation. The OVERLAPPED, and every byte the kernel may
// read or write for it, must stay valid until the port has returned it, so an
// op lives until the loop thread has seen it, even if the socket was closed in
// between: accept ops (with their address space and accept socket) on the
// heap, the one connect, read and write op of a socket inside its engine, which
// outlives them all. The read op's buffer is the engine's own; the write op's
// memory belongs to JavaScript buffers the engine holds a reference to (see
// HoldWriteOwner). CancelIoEx only asks for an operation to end: until the
// port returns it (aborted or not), the kernel may still be using it.
struct Op {
  explicit Op(OpKind k, WinEngine* p) : kind(k), engine(p) {}
  // Before each use of a reused op.
  void Reset() {
    overlapped = OVERLAPPED{};
    bytes = 0;
    error = 0;
    resolved = false;
  }
  OVERLAPPED overlapped{};
  OpKind kind;
  WinEngine* engine;
  Op* next = nullptr;
  // Filled in by the completion thread.
  DWORD bytes = 0;
  DWORD error = 0;
  // The error is already a Winsock error: the op was completed by us (held
  // data, a failure while posting), not returned by the port.
  bool resolved = false;
  // Accept only: the socket AcceptEx fills, and where it writes addresses.
  SOCKET accepted = INVALID_SOCKET;
  char addresses[2 * kMaxAcceptAddressLength] = {};
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

void CopyAddress(const sockaddr* from, int length, SocketAddress* to) {
  if (from == nullptr || length <= 0 || static_cast<size_t>(length) > sizeof(to->bytes)) return;
  std::memcpy(to->bytes, from, static_cast<size_t>(length));
  to->length = static_cast<size_t>(length);
}

class WinEngine final : public EngineBase {
 public:
  explicit WinEngine(const EngineSetup& setup)
      : EngineBase(setup), family_(setup.family), protocol_(setup.protocol), connected_(setup.accepted != nullptr) {
    InitializeSRWLock(&lock_);
  }

  int Bind(const void* addr, size_t len) override {
    if (::bind(sock(), static_cast<const sockaddr*>(addr), static_cast<int>(len)) == SOCKET_ERROR) {
      return FailLastSocketError();
    }
    return 0;
  }

  // Ordered so that an adopted socket is left as it was when this fails:
  // the lookups change nothing, listen() on a socket that already listens
  // changes nothing, and joining our completion port, the one step that
  // cannot be undone, comes last (CompleteAdoption).
  int Listen(int backlog) override {
    accept_ex_ = ExtensionFunction<LPFN_ACCEPTEX>(sock(), WSAID_ACCEPTEX);
    if (accept_ex_ == nullptr) return FailLastSocketError();
    accept_sockaddrs_ = ExtensionFunction<LPFN_GETACCEPTEXSOCKADDRS>(sock(), WSAID_GETACCEPTEXSOCKADDRS);
    if (accept_sockaddrs_ == nullptr) return FailLastSocketError();
    if (!timer_ready_) {
      int err = uv_timer_init(loop_, &retry_timer_);
      if (err != 0) return FailWith(err);
      AddHandle(reinterpret_cast<uv_handle_t*>(&retry_timer_));
      timer_ready_ = true;
      uv_unref(reinterpret_cast<uv_handle_t*>(&retry_timer_));
    }
    if (::listen(sock(), backlog) == SOCKET_ERROR) return FailLastSocketError();
    int err = CompleteAdoption();
    if (err != 0) return err;
    accept_address_length_ = AcceptAddressLength(family_);
    listening_ = true;
    return 0;
  }

  int Connect(const void* addr, size_t len) override {
    // ConnectEx needs a bound socket: bind to the wildcard address of the
    // target's family (all zeros after the family, for AF_HYPERV as for IP).
    SOCKADDR_STORAGE local{};
    if (len > sizeof(local) || len < sizeof(local.ss_family)) return FailWith(UV_EINVAL);
    local.ss_family = static_cast<const sockaddr*>(addr)->sa_family;
    if (::bind(sock(), reinterpret_cast<sockaddr*>(&local), static_cast<int>(len)) == SOCKET_ERROR &&
        WSAGetLastError() != WSAEINVAL /* already bound */) {
      return FailLastSocketError();
    }
    auto connect_ex = ExtensionFunction<LPFN_CONNECTEX>(sock(), WSAID_CONNECTEX);
    if (connect_ex == nullptr) return FailLastSocketError();
    if (connecting_) return FailWith(UV_EALREADY);
    connect_op_.Reset();
    if (!connect_ex(sock(), static_cast<const sockaddr*>(addr), static_cast<int>(len), nullptr, 0, nullptr,
                    &connect_op_.overlapped) &&
        WSAGetLastError() != ERROR_IO_PENDING) {
      return FailLastSocketError();
    }
    // Even an immediate success is reported through the port, so the
    // outcome always arrives asynchronously, as on POSIX.
    outstanding_++;
    connecting_ = true;
    UpdateRef();
    return 0;
  }

  int ReadStart() override {
    reading_ = true;
    UpdateRef();
    if (!listening_) return StartReading();
    StartAccepting();
    return 0;
  }

  int ReadStop() override {
    // Posted operations stay posted; what they bring is held until the next
    // ReadStart, so stopping never loses data or connections.
    reading_ = false;
    UpdateRef();
    return 0;
  }

  int Write(const WriteChunk* chunks, size_t count) override {
    if (writing_) return FailWith(UV_EBUSY);
    write_chunks_.clear();
    for (size_t i = 0; i < count; i++) {
      if (chunks[i].length > 0) write_chunks_.push_back(chunks[i]);
    }
    if (write_chunks_.empty()) return kWriteDone;
    write_next_ = 0;
    write_offset_ = 0;
    int err = PostSend();
    if (err != 0) {
      write_chunks_.clear();
      return err;
    }
    // The buffers belong to the OS until the last completion: always pending.
    writing_ = true;
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
    if (writing_) return FailWith(UV_EBUSY);
    if (::shutdown(sock(), SD_SEND) == SOCKET_ERROR) return FailLastSocketError();
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

  // Completion thread: queue the op for the loop thread and wake it. The
  // wake-up happens under the lock, so the loop thread, which takes the lock
  // before it frees the engine, can never free it under our feet.
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
  ~WinEngine() override = default;

  SOCKET sock() const { return static_cast<SOCKET>(socket_); }

  int InitLoop() override {
    int err = uv_async_init(loop_, &async_, OnAsync);
    if (err != 0) return FailWith(err);
    AddHandle(reinterpret_cast<uv_handle_t*>(&async_));
    async_ready_ = true;
    // The loop stays alive for this socket only while I/O is under way.
    uv_unref(reinterpret_cast<uv_handle_t*>(&async_));
    return 0;
  }

  // Routes the socket's completions to our port. A handle cannot leave a
  // port again, and one that is already on another port (its owner's) is
  // refused: ERROR_INVALID_PARAMETER.
  int TakeOverSocket() override {
    if (CreateIoCompletionPort(reinterpret_cast<HANDLE>(sock()), CompletionPort::Get(), 0, 0) == nullptr) {
      return Fail(GetLastError());
    }
    return 0;
  }

  // A status about to go to the listener, its Windows error remembered for
  // TakeWindowsError() only if it really goes there.
  int EventStatus(DWORD error) {
    return listener_ != nullptr ? Fail(error) : uv_translate_sys_error(static_cast<int>(error));
  }

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
    if (read_storage_.empty()) read_storage_.resize(kReadSize);
    read_posted_ = true;
    if (read_held_) {
      read_held_ = false;
      CompleteLater(&read_op_, read_op_.error);
      return 0;
    }
    read_op_.Reset();
    WSABUF buffer{static_cast<ULONG>(read_storage_.size()), read_storage_.data()};
    DWORD flags = 0;
    if (WSARecv(sock(), &buffer, 1, nullptr, &flags, &read_op_.overlapped, nullptr) == SOCKET_ERROR &&
        WSAGetLastError() != WSA_IO_PENDING) {
      CompleteLater(&read_op_, static_cast<DWORD>(WSAGetLastError()));
      return 0;
    }
    outstanding_++;
    return 0;
  }

  // Inside the JavaScript call that started reading: connections accepted
  // while stopped, and a failure to post any accept, are reported from the
  // loop (see DrainCompleted and OnRetryTimer), never inside this call.
  void StartAccepting() {
    if (!held_accepts_.empty()) uv_async_send(&async_);
    if (TopUpAccepts() != 0) ArmAcceptRetry(0);
  }

  // Keeps kSimultaneousAccepts AcceptEx calls posted. Returns 0 while at
  // least one is posted, else the error of the last attempt.
  int TopUpAccepts() {
    int err = 0;
    while (accepts_posted_ < kSimultaneousAccepts) {
      err = PostAccept();
      if (err != 0) break;
    }
    if (accepts_posted_ == 0) return err;
    deaf_reported_ = false;
    return 0;
  }

  // Loop thread, outside any JavaScript call. A listener with no accept
  // posted would never hear of a connection again: that is an accept error
  // for the server ('error', syscall 'accept'), reported once, and posting
  // is retried until it works again (the cause may pass: EMFILE, ENOBUFS, an
  // accept option the provider refuses only for a while).
  void KeepAccepting() {
    if (closed_ || !listening_ || !reading_) return;
    int err = TopUpAccepts();
    if (err == 0) return;
    ArmAcceptRetry(kAcceptRetryMs);
    if (deaf_reported_ || listener_ == nullptr) {
      SetWindowsError(0);  // not reported, so nobody may take it
      return;
    }
    deaf_reported_ = true;
    listener_->OnConnection(err, nullptr);
  }

  void ArmAcceptRetry(uint64_t delay_ms) {
    if (timer_ready_ && !closed_) uv_timer_start(&retry_timer_, OnRetryTimer, delay_ms, 0);
  }

  static void OnRetryTimer(uv_timer_t* timer) { From<WinEngine>(timer)->KeepAccepting(); }

  int PostAccept() {
    SOCKET s = NewSocket(family_, protocol_);
    if (s == INVALID_SOCKET) return FailLastSocketError();
    // Before AcceptEx, as microsoft/WSL's hvsocket.cpp sets
    // HVSOCKET_CONNECTED_SUSPEND on its accept sockets: the connection is
    // made on this socket, so this is when its options take effect.
    int err = ApplyAcceptOptions(static_cast<OsSocket>(s));
    if (err != 0) {
      closesocket(s);
      return err;
    }
    auto* op = new Op(OpKind::kAccept, this);
    op->accepted = s;
    DWORD received = 0;
    if (!accept_ex_(sock(), s, op->addresses, 0, accept_address_length_, accept_address_length_, &received,
                    &op->overlapped) &&
        WSAGetLastError() != ERROR_IO_PENDING) {
      int err = FailLastSocketError();
      closesocket(s);
      delete op;
      return err;
    }
    accepts_posted_++;
    outstanding_++;
    return 0;
  }

  // Posts the next part of the current write: at most kMaxSendBytes, from
  // the write's cursor on.
  int PostSend() {
    write_window_.clear();
    size_t total = 0;
    size_t offset = write_offset_;
    for (size_t i = write_next_; i < write_chunks_.size() && total < kMaxSendBytes &&
                                 write_window_.size() < kMaxSendBuffers;
         i++) {
      size_t take = std::min(write_chunks_[i].length - offset, kMaxSendBytes - total);
      write_window_.push_back(WSABUF{static_cast<ULONG>(take), const_cast<char*>(write_chunks_[i].data + offset)});
      total += take;
      offset = 0;
    }
    write_op_.Reset();
    if (WSASend(sock(), write_window_.data(), static_cast<DWORD>(write_window_.size()), nullptr, 0,
                &write_op_.overlapped, nullptr) == SOCKET_ERROR &&
        WSAGetLastError() != WSA_IO_PENDING) {
      return FailLastSocketError();
    }
    outstanding_++;
    return 0;
  }

  // Moves the write's cursor past `sent` bytes; true once all is sent.
  bool AdvanceWrite(size_t sent) {
    while (sent > 0 && write_next_ < write_chunks_.size()) {
      size_t left = write_chunks_[write_next_].length - write_offset_;
      if (sent < left) {
        write_offset_ += sent;
        return false;
      }
      sent -= left;
      write_next_++;
      write_offset_ = 0;
    }
    return write_next_ >= write_chunks_.size();
  }

  static void OnAsync(uv_async_t* handle) { From<WinEngine>(handle)->DrainCompleted(); }

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
    std::vector<AcceptedSocket> held;
    held.swap(held_accepts_);
    for (AcceptedSocket& accepted : held) {
      if (closed_ || listener_ == nullptr) {
        closesocket(static_cast<SOCKET>(accepted.socket));
      } else if (!reading_) {
        held_accepts_.push_back(accepted);  // stopped again by a connection handler
      } else {
        listener_->OnConnection(0, &accepted);
      }
    }
  }

  // The error of a finished operation as Winsock names it: the completion
  // thread only sees the generic Windows error the kernel status maps to
  // (ERROR_CONNECTION_REFUSED rather than WSAECONNREFUSED, for instance).
  DWORD SocketError(Op* op) {
    if (op->error == 0 || op->resolved || closed_) return op->error;
    DWORD bytes = 0, flags = 0;
    if (WSAGetOverlappedResult(sock(), &op->overlapped, &bytes, FALSE, &flags)) return op->error;
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
    if (error == 0 && setsockopt(sock(), SOL_SOCKET, SO_UPDATE_CONNECT_CONTEXT, nullptr, 0) == SOCKET_ERROR) {
      // Without the context, shutdown and getpeername do not work.
      error = static_cast<DWORD>(WSAGetLastError());
    }
    connected_ = error == 0;
    int status = error == 0 ? 0 : EventStatus(error);
    if (listener_ != nullptr) listener_->OnConnect(status);
  }

  // The addresses AcceptEx wrote, in the slots sized for the family. These,
  // not getsockname on the accepted socket, are its addresses: on Hyper-V
  // that call reports an arbitrary service GUID (go-winio hvsock.go).
  void ReadAcceptAddresses(Op* op, AcceptedSocket* accepted) {
    sockaddr* local = nullptr;
    sockaddr* peer = nullptr;
    int local_length = 0;
    int peer_length = 0;
    accept_sockaddrs_(op->addresses, 0, accept_address_length_, accept_address_length_, &local, &local_length, &peer,
                      &peer_length);
    CopyAddress(local, local_length, &accepted->local);
    CopyAddress(peer, peer_length, &accepted->peer);
  }

  void OnAcceptDone(Op* op) {
    DWORD error = SocketError(op);
    AcceptedSocket accepted;
    accepted.socket = static_cast<OsSocket>(op->accepted);
    SOCKET s = op->accepted;
    if (error == 0 && !closed_) ReadAcceptAddresses(op, &accepted);
    delete op;
    accepts_posted_--;
    if (closed_) {
      closesocket(s);
      return;
    }
    SOCKET listening = sock();
    if (error == 0 &&
        setsockopt(s, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT, reinterpret_cast<char*>(&listening), sizeof(listening)) ==
            SOCKET_ERROR) {
      error = static_cast<DWORD>(WSAGetLastError());
    }
    if (error != 0) {
      closesocket(s);
      // A connection that died before we took it is nobody's business;
      // anything else is the listener's.
      bool aborted = error == WSAECONNRESET || error == ERROR_NETNAME_DELETED || error == WSAECONNABORTED ||
                     error == ERROR_CONNECTION_ABORTED;
      if (!aborted && listener_ != nullptr) listener_->OnConnection(EventStatus(error), nullptr);
    } else if (!reading_) {
      held_accepts_.push_back(accepted);
    } else if (listener_ != nullptr) {
      listener_->OnConnection(0, &accepted);
    } else {
      closesocket(s);
    }
    KeepAccepting();
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
      nread = EventStatus(error);
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
    if (listener_ == nullptr) return;
    // The one copy: from the posted read's own memory into JavaScript's.
    ReadSpace space = listener_->OnAllocRead(op->bytes);
    if (space.length < op->bytes) {
      reading_ = false;
      eof_or_error_delivered_ = true;
      listener_->OnRead(FailWith(UV_ENOBUFS));
      return;
    }
    std::memcpy(space.data, read_storage_.data(), op->bytes);
    listener_->OnRead(nread);
    if (!closed_ && reading_) StartReading();
  }

  // A write is done when all of it is sent, or at the first error; a short
  // completion posts the rest.
  void OnWriteDone(Op* op) {
    DWORD error = SocketError(op);
    int status = 0;
    if (closed_) {
      // Nothing more is posted; the rest of the write is abandoned.
    } else if (error != 0) {
      status = EventStatus(error);
    } else if (op->bytes == 0) {
      // A send that moved nothing without an error can never finish the
      // write: fail it rather than post it again forever.
      status = FailWith(UV_EIO);
    } else if (!AdvanceWrite(op->bytes)) {
      status = PostSend();
      if (status == 0) return;  // the rest is under way
    }
    writing_ = false;
    // The port has returned the write, so the kernel is done with the
    // buffers: they may go now, and not before, closed socket or not. This
    // runs on the loop thread (napi calls are not allowed on the port
    // thread), also while environment teardown waits for our cleanup hook,
    // which keeps the napi_env alive until Free() removes it.
    write_chunks_.clear();
    write_window_.clear();
    ReleaseWriteOwner();
    if (closed_) return;
    if (listener_ != nullptr) listener_->OnWriteDone(status);
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

  void StopIo() override {
    if (timer_ready_) uv_timer_stop(&retry_timer_);
    if (socket_ != kInvalidSocket) {
      if (connected_ && !writing_) {
        // A graceful close: every write has completed, so the kernel holds
        // all that is left to send. Winsock closes gracefully only when no
        // receive is pending or the socket is shut down for sending (libuv
        // src/win/tcp.c does the same); with a read posted, closesocket
        // alone may reset the connection and the peer lose the end of our
        // data. A write still posted is being destroyed: no shutdown then.
        ::shutdown(sock(), SD_SEND);
      }
      // Every posted operation now completes (aborted, or done if it got
      // there first) through the port. The engine lives until the last one is
      // back (IoDrained), and with it what the kernel may still be reading or
      // writing: the read buffer, the accept ops and their sockets, the
      // write's JavaScript buffers (released in OnWriteDone, not here).
      CancelIoEx(reinterpret_cast<HANDLE>(sock()), nullptr);
      closesocket(sock());
    }
    for (AcceptedSocket& accepted : held_accepts_) closesocket(static_cast<SOCKET>(accepted.socket));
    held_accepts_.clear();
    // Until the aborted operations are back the loop must keep polling, as
    // it does for a closing handle: environment teardown spins uv_run until
    // our cleanup hook is done, and an unreferenced handle would let uv_run
    // return without ever looking at the port.
    if (async_ready_ && outstanding_ > 0 && !refed_) {
      uv_ref(reinterpret_cast<uv_handle_t*>(&async_));
      refed_ = true;
    }
  }

  bool IoDrained() override {
    if (outstanding_ > 0) return false;
    // No operation is left, so the completion thread is done with us; the
    // lock makes sure it has also left Complete().
    AcquireSRWLockExclusive(&lock_);
    ReleaseSRWLockExclusive(&lock_);
    return true;
  }

  // Loop thread only.
  void ReleaseWriteOwner() {
    if (write_owner_ == nullptr) return;
    napi_delete_reference(env_, write_owner_);
    write_owner_ = nullptr;
  }

  // Nothing left: the write op, which held it, is back (see IoDrained).
  // Released before the cleanup hook goes, while the environment surely exists.
  void BeforeFree() override { ReleaseWriteOwner(); }

  int family_;
  int protocol_;
  uv_async_t async_{};
  bool async_ready_ = false;
  uv_timer_t retry_timer_{};
  bool timer_ready_ = false;
  SRWLOCK lock_;
  Op* completed_head_ = nullptr;
  Op* completed_tail_ = nullptr;

  int outstanding_ = 0;
  bool ref_ = true;
  bool refed_ = false;
  bool listening_ = false;
  bool connecting_ = false;
  bool connected_ = false;
  bool reading_ = false;

  LPFN_ACCEPTEX accept_ex_ = nullptr;
  LPFN_GETACCEPTEXSOCKADDRS accept_sockaddrs_ = nullptr;
  DWORD accept_address_length_ = kMaxAcceptAddressLength;
  int accepts_posted_ = 0;
  bool deaf_reported_ = false;
  std::vector<AcceptedSocket> held_accepts_;

  Op connect_op_{OpKind::kConnect, this};

  Op read_op_{OpKind::kRead, this};
  std::vector<char> read_storage_;
  bool read_posted_ = false;
  bool read_held_ = false;
  bool eof_or_error_delivered_ = false;

  Op write_op_{OpKind::kWrite, this};
  bool writing_ = false;
  // The write under way, and how far the OS has taken it.
  std::vector<WriteChunk> write_chunks_;
  size_t write_next_ = 0;
  size_t write_offset_ = 0;
  std::vector<WSABUF> write_window_;
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
    op->engine->Complete(op);
  }
}

// 0, or why Winsock would not start. Node has started it already; this is
// only a reference count.
DWORD WinsockStartError() {
  static DWORD error = [] {
    WSADATA data;
    return static_cast<DWORD>(WSAStartup(MAKEWORD(2, 2), &data));
  }();
  return error;
}

}  // namespace

int PlatformReady() {
  if (DWORD error = WinsockStartError()) return Fail(error);
  if (CompletionPort::Get() == nullptr) return FailWith(UV_ENOMEM);
  return 0;
}

int OpenSocket(int family, int protocol, OsSocket* socket) {
  SOCKET s = NewSocket(family, protocol);
  if (s == INVALID_SOCKET) return FailLastSocketError();
  *socket = static_cast<OsSocket>(s);
  return 0;
}

// What an adopted socket must be before anything is done to it: a bound
// stream socket of our family. Asks only; changes nothing. The engine makes
// its accept sockets with the family and protocol found here.
int CheckAdoptable(OsSocket socket, int* family, int* protocol) {
  SOCKET s = static_cast<SOCKET>(socket);
  int type = 0;
  int len = sizeof(type);
  if (getsockopt(s, SOL_SOCKET, SO_TYPE, reinterpret_cast<char*>(&type), &len) == SOCKET_ERROR) {
    return FailLastSocketError();
  }
  if (type != SOCK_STREAM) return FailWith(UV_EPROTOTYPE);
  WSAPROTOCOL_INFOW info{};
  len = sizeof(info);
  if (getsockopt(s, SOL_SOCKET, SO_PROTOCOL_INFOW, reinterpret_cast<char*>(&info), &len) == SOCKET_ERROR) {
    return FailLastSocketError();
  }
  if (*family > 0 && info.iAddressFamily != *family) return FailWith(UV_EAFNOSUPPORT);
  // An unbound socket cannot listen (WSAEINVAL from getsockname).
  SOCKADDR_STORAGE bound{};
  len = sizeof(bound);
  if (::getsockname(s, reinterpret_cast<sockaddr*>(&bound), &len) == SOCKET_ERROR) return FailLastSocketError();
  *family = info.iAddressFamily;
  *protocol = info.iProtocol;
  return 0;
}

EngineBase* NewEngine(const EngineSetup& setup) { return new WinEngine(setup); }

int SocketName(OsSocket socket, bool peer, void* addr, size_t* len) {
  SOCKET s = static_cast<SOCKET>(socket);
  int l = static_cast<int>(*len);
  auto* sa = static_cast<sockaddr*>(addr);
  int r = peer ? ::getpeername(s, sa, &l) : ::getsockname(s, sa, &l);
  if (r == SOCKET_ERROR) return FailLastSocketError();
  *len = static_cast<size_t>(l);
  return 0;
}

int SetSocketOption(OsSocket socket, int level, int name, const void* value, size_t len) {
  if (setsockopt(static_cast<SOCKET>(socket), level, name, static_cast<const char*>(value), static_cast<int>(len)) ==
      SOCKET_ERROR) {
    return FailLastSocketError();
  }
  return 0;
}

int GetSocketOption(OsSocket socket, int level, int name, void* value, size_t* len) {
  int l = static_cast<int>(*len);
  if (getsockopt(static_cast<SOCKET>(socket), level, name, static_cast<char*>(value), &l) == SOCKET_ERROR) {
    return FailLastSocketError();
  }
  *len = static_cast<size_t>(l);
  return 0;
}

void CloseOsSocket(OsSocket socket) { closesocket(static_cast<SOCKET>(socket)); }

int LocalCid(uint32_t* cid) {
  (void)cid;
  return UV_ENOSYS;
}

// Not a socket's status: leaves TakeWindowsError() alone.
int ProbeFamily(int family, int protocol) {
  if (DWORD error = WinsockStartError()) return uv_translate_sys_error(static_cast<int>(error));
  SOCKET s = NewSocket(family, protocol);
  if (s == INVALID_SOCKET) return uv_translate_sys_error(WSAGetLastError());
  closesocket(s);
  return 0;
}

}  // namespace hvsock
