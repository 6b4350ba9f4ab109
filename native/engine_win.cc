// Windows engine: overlapped Winsock I/O on one I/O completion port for the
// whole process, the model go-winio uses for AF_HYPERV. libuv's own Windows
// poll emulation would fall back to a select() thread for a provider it does
// not know, so sockets are not handed to libuv at all.
//
// One thread waits on the port, taking up to kPortBatch completions per wait
// (GetQueuedCompletionStatusEx). It hands each engine all of its completions
// from one batch at once, under one lock, with one uv_async_send, and the
// engine's uv_async_t wakes the loop thread of that engine's environment,
// where the completions are turned into listener events.
//
// Per socket, where the provider allows it (see TakeOverSocket and
// ChooseReadMode), and otherwise as plain overlapped I/O through the port:
// - skip-on-success (FILE_SKIP_COMPLETION_PORT_ON_SUCCESS), only on an IFS
//   provider, as libuv does: an operation that completes at once brings no
//   completion packet. A write that completes at once is finished right
//   there (Write returns kWriteDone, as on POSIX); anything else that
//   completes at once is queued for the loop without the port.
// - zero-byte reads, as libuv's UV_HANDLE_ZERO_READ: a WSARecv of no bytes
//   waits for data; once it completes, non-blocking reads go straight into
//   the memory the listener lends (no copy), then the next zero-byte read is
//   posted. An idle socket pins no read buffer, and after ReadStop nothing is
//   read from the OS. Where the provider refuses them, each socket posts a
//   64 KiB read into its own buffer and copies it into the lent memory.
// Under Wine (AF_INET on loopback, where the engine suite runs) the provider
// is an IFS one and takes both; whether Hyper-V's hvsocket provider does is
// not documented (go-winio sets skip-on-success on Hyper-V sockets, and WSL
// issues zero-length receives on them: HYPERV-FACTS.md), hence the
// fallbacks, which HVSOCK_WINDOWS_IO can force for tests (see IoOverrides).
//
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
#include <climits>
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

// Completions the port thread takes per wait.
constexpr ULONG kPortBatch = 64;

// Zero-byte reads: how much one non-blocking read asks the listener for, and
// how many reads one wake-up makes at most before it posts the next
// zero-byte read (like libuv and the POSIX engine: enough to drain a busy
// socket without starving the loop). The POSIX engine's default size.
constexpr size_t kDirectReadSize = 256 * 1024;
constexpr int kMaxReadsPerWakeup = 32;
// A provider that completes zero-byte reads at once whether or not data is
// there would make every wake-up find nothing, and spin: after this many
// such wake-ups in a row, the socket falls back to posted-buffer reads.
constexpr int kMaxEmptyWakeups = 8;

// The fallback: each reading socket's own posted receive buffer (copied into
// JavaScript's memory when it completes).
constexpr size_t kPostedReadSize = 64 * 1024;

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

// The variable HVSOCK_WINDOWS_IO turns the per-socket optimisations off, so
// that the fallbacks real Hyper-V may need run under Wine too (the engine
// suite's windows-io test): a comma-separated list of `port` (every
// completion through the port: no skip-on-success) and `posted-reads` (no
// zero-byte reads). Read for each new socket, so a test can change it.
struct IoOverrides {
  bool no_skip = false;
  bool no_zero_reads = false;
};

IoOverrides ReadIoOverrides() {
  IoOverrides overrides;
  char value[64];
  DWORD length = GetEnvironmentVariableA("HVSOCK_WINDOWS_IO", value, sizeof(value));
  if (length == 0 || length >= sizeof(value)) return overrides;
  for (char* item = value; *item != '\0';) {
    char* comma = std::strchr(item, ',');
    size_t n = comma != nullptr ? static_cast<size_t>(comma - item) : std::strlen(item);
    if (n == 4 && std::strncmp(item, "port", n) == 0) overrides.no_skip = true;
    if (n == 12 && std::strncmp(item, "posted-reads", n) == 0) overrides.no_zero_reads = true;
    item += comma != nullptr ? n + 1 : n;
  }
  return overrides;
}

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
    zero_read = false;
  }
  OVERLAPPED overlapped{};
  OpKind kind;
  WinEngine* engine;
  Op* next = nullptr;
  // Filled in by the completion thread, or by the loop thread for an op
  // that completed at once (skip-on-success).
  DWORD bytes = 0;
  DWORD error = 0;
  // The error is already a Winsock error: the op was completed by us (held
  // data, a failure while posting, an op that completed at once), not
  // returned by the port.
  bool resolved = false;
  // Read only: a zero-byte read (it only says the socket is readable).
  bool zero_read = false;
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
  // Hands a batch's ops to their engines: one hand-over per engine.
  static void Deliver(Op** ops, ULONG count);
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
    if (connect_ex(sock(), static_cast<const sockaddr*>(addr), static_cast<int>(len), nullptr, 0, nullptr,
                   &connect_op_.overlapped)) {
      // Even an immediate success is reported from the loop (through the
      // port, or without it where the packet is skipped), as on POSIX.
      if (skip_on_success_) {
        CompleteLater(&connect_op_, 0);
      } else {
        outstanding_++;
      }
    } else if (WSAGetLastError() == ERROR_IO_PENDING) {
      outstanding_++;
    } else {
      return FailLastSocketError();
    }
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
    empty_sends_ = 0;
    int result = SendMore();
    if (result != kSendPosted) {
      // All of it went at once (skip-on-success), or a send failed: the OS
      // is done with the buffers either way, and nothing is reported later.
      write_chunks_.clear();
      write_window_.clear();
      return result == kAllSent ? kWriteDone : result;
    }
    // The buffers belong to the OS until the last completion.
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

  // Completion thread (a batch's chain of ops for this engine), or loop
  // thread (one op completed by us): queue the ops for the loop thread and
  // wake it. The wake-up happens under the lock, so the loop thread, which
  // takes the lock before it frees the engine, can never free it under our
  // feet.
  void Complete(Op* head, Op* tail) {
    AcquireSRWLockExclusive(&lock_);
    if (completed_tail_ == nullptr) {
      completed_head_ = head;
    } else {
      completed_tail_->next = head;
    }
    completed_tail_ = tail;
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
    ref_handle_ = reinterpret_cast<uv_handle_t*>(&async_);
    return 0;
  }

  // Routes the socket's completions to our port. A handle cannot leave a
  // port again, and one that is already on another port (its owner's) is
  // refused: ERROR_INVALID_PARAMETER.
  int TakeOverSocket() override {
    if (CreateIoCompletionPort(reinterpret_cast<HANDLE>(sock()), CompletionPort::Get(), 0, 0) == nullptr) {
      return Fail(GetLastError());
    }
    overrides_ = ReadIoOverrides();
    skip_on_success_ = !overrides_.no_skip && SkipCompletionPortOnSuccess(sock());
    return 0;
  }

  // Whether an operation that completes at once can be handled without its
  // completion packet: as libuv decides (src/win/tcp.c with winsock.c), only
  // where the socket's provider hands out real file handles (an IFS
  // provider: a layered non-IFS provider may still queue the packet), and
  // only once Windows has agreed to skip it. Otherwise every completion
  // comes through the port, which is always correct.
  static bool SkipCompletionPortOnSuccess(SOCKET s) {
    WSAPROTOCOL_INFOW info{};
    int len = sizeof(info);
    if (getsockopt(s, SOL_SOCKET, SO_PROTOCOL_INFOW, reinterpret_cast<char*>(&info), &len) == SOCKET_ERROR) {
      return false;
    }
    if ((info.dwServiceFlags1 & XP1_IFS_HANDLES) == 0) return false;
    return SetFileCompletionNotificationModes(reinterpret_cast<HANDLE>(s), FILE_SKIP_COMPLETION_PORT_ON_SUCCESS |
                                                                             FILE_SKIP_SET_EVENT_ON_HANDLE) != 0;
  }

  // A status about to go to the listener, its Windows error remembered for
  // TakeWindowsError() only if it really goes there.
  int EventStatus(DWORD error) {
    return listener_ != nullptr ? Fail(error) : uv_translate_sys_error(static_cast<int>(error));
  }

  // Loop thread: an op that is already finished (an error found while
  // posting it, or data held back by ReadStop) goes the same way as a real
  // completion, so listener events never fire inside a JavaScript call.
  // (An op that completed at once carries its byte count in op->bytes.)
  void CompleteLater(Op* op, DWORD error) {
    op->error = error;
    op->resolved = true;
    op->next = nullptr;
    outstanding_++;
    Complete(op, op);
  }

  // Posts the socket's next read, unless one is out or the stream ended.
  // Called inside JavaScript calls (ReadStart) and from the loop: whatever
  // completes at once, and a read held while stopped, is reported from the
  // loop (CompleteLater), never here.
  int StartReading() {
    if (read_posted_ || eof_or_error_delivered_) return 0;
    if (read_mode_ == ReadMode::kUndecided) ChooseReadMode();
    read_posted_ = true;
    if (read_held_) {
      read_held_ = false;
      CompleteLater(&read_op_, read_op_.error);
      return 0;
    }
    if (read_mode_ == ReadMode::kZeroByte && PostZeroByteRead()) return 0;
    PostBufferedRead();
    return 0;
  }

  // Zero-byte reads need a non-blocking socket, for the reads that follow
  // one: FIONBIO, which governs only calls made without an OVERLAPPED (libuv
  // sets it on every socket it drives with overlapped I/O). Decided when
  // the socket first reads, so a listener is never changed.
  void ChooseReadMode() {
    u_long non_blocking = 1;
    bool zero = !overrides_.no_zero_reads && ioctlsocket(sock(), FIONBIO, &non_blocking) == 0;
    read_mode_ = zero ? ReadMode::kZeroByte : ReadMode::kBuffered;
  }

  // Posts a WSARecv of no bytes, which completes once data (or the end of
  // the stream, or an error) is there. False if the provider refused it at
  // once: the socket then reads into posted buffers from now on.
  bool PostZeroByteRead() {
    read_op_.Reset();
    read_op_.zero_read = true;
    WSABUF none{0, &zero_byte_};
    DWORD bytes = 0, flags = 0;
    if (WSARecv(sock(), &none, 1, &bytes, &flags, &read_op_.overlapped, nullptr) == 0) {
      if (skip_on_success_) {
        CompleteLater(&read_op_, 0);  // data is there already
      } else {
        outstanding_++;
      }
      return true;
    }
    if (WSAGetLastError() == WSA_IO_PENDING) {
      outstanding_++;
      return true;
    }
    // A real failure of the connection fails the posted read the same way.
    read_mode_ = ReadMode::kBuffered;
    return false;
  }

  // The fallback: a read into the socket's own buffer, copied out when it completes.
  void PostBufferedRead() {
    if (read_storage_.empty()) read_storage_.resize(kPostedReadSize);
    read_op_.Reset();
    WSABUF buffer{static_cast<ULONG>(read_storage_.size()), read_storage_.data()};
    DWORD bytes = 0, flags = 0;
    if (WSARecv(sock(), &buffer, 1, &bytes, &flags, &read_op_.overlapped, nullptr) == 0) {
      if (skip_on_success_) {
        read_op_.bytes = bytes;
        CompleteLater(&read_op_, 0);
      } else {
        outstanding_++;
      }
    } else if (WSAGetLastError() == WSA_IO_PENDING) {
      outstanding_++;
    } else {
      CompleteLater(&read_op_, static_cast<DWORD>(WSAGetLastError()));
    }
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
    bool done_at_once = accept_ex_(sock(), s, op->addresses, 0, accept_address_length_, accept_address_length_,
                                   &received, &op->overlapped) != FALSE;
    if (!done_at_once && WSAGetLastError() != ERROR_IO_PENDING) {
      int err = FailLastSocketError();
      closesocket(s);
      delete op;
      return err;
    }
    accepts_posted_++;
    if (done_at_once && skip_on_success_) {
      // No packet will come: the connection is handed out from the loop.
      CompleteLater(op, 0);
    } else {
      outstanding_++;
    }
    return 0;
  }

  // Results of SendMore, beside a negative error.
  static constexpr int kSendPosted = 0;
  static constexpr int kAllSent = 1;

  // Sends the rest of the current write, a window of at most kMaxSendBytes
  // at a time, until a send is left to the port (kSendPosted), all of it is
  // sent (kAllSent: only where sends that complete at once skip the port),
  // or a send fails.
  int SendMore() {
    for (;;) {
      FillSendWindow();
      write_op_.Reset();
      DWORD sent = 0;
      if (WSASend(sock(), write_window_.data(), static_cast<DWORD>(write_window_.size()), &sent, 0,
                  &write_op_.overlapped, nullptr) == SOCKET_ERROR) {
        if (WSAGetLastError() != WSA_IO_PENDING) return FailLastSocketError();
        outstanding_++;
        return kSendPosted;
      }
      if (!skip_on_success_) {
        // Done already, but its packet is on the way all the same.
        outstanding_++;
        return kSendPosted;
      }
      if (sent == 0) {
        if (!RetryEmptySend()) return FailWith(UV_EIO);
        continue;
      }
      empty_sends_ = 0;
      if (AdvanceWrite(sent)) return kAllSent;
    }
  }

  // A send that moved nothing without an error: Wine completes a send that
  // way when the peer has just reset the connection. Sending once more then
  // fails with the connection's own error; a second send that moves nothing
  // can never finish the write (EIO, rather than sending again forever).
  bool RetryEmptySend() { return ++empty_sends_ <= 1; }

  // The next part of the current write, from its cursor on: at most
  // kMaxSendBytes in at most kMaxSendBuffers buffers.
  void FillSendWindow() {
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
      // Stopped while the read was posted: keep what it brought (for a
      // zero-byte read, only that the socket is readable: nothing was read).
      op->error = error;
      read_held_ = true;
      return;
    }
    if (op->zero_read) return ReadReadySocket(error);
    intptr_t nread;
    if (error != 0) {
      nread = EventStatus(error);
    } else if (op->bytes == 0) {
      nread = UV_EOF;
    } else {
      nread = static_cast<intptr_t>(op->bytes);
    }
    if (nread < 0) return EndReading(nread);
    if (listener_ == nullptr) return;
    // The one copy: from the posted read's own memory into JavaScript's.
    ReadSpace space = listener_->OnAllocRead(op->bytes);
    if (space.length < op->bytes) return EndReading(FailWith(UV_ENOBUFS));
    std::memcpy(space.data, read_storage_.data(), op->bytes);
    listener_->OnRead(nread);
    if (!closed_ && reading_) StartReading();
  }

  // A zero-byte read completed: the socket has data, or its end, or an
  // error. Reads it with non-blocking reads straight into the memory the
  // listener lends, until the socket is empty (WSAEWOULDBLOCK, or a read
  // shorter than asked), reading stops, or kMaxReadsPerWakeup reads, then
  // posts the next zero-byte read. Loop thread, outside any JavaScript call.
  void ReadReadySocket(DWORD zero_read_error) {
    bool got_data = false;
    for (int i = 0; i < kMaxReadsPerWakeup && reading_ && !closed_ && listener_ != nullptr; i++) {
      ReadSpace space = listener_->OnAllocRead(kDirectReadSize);
      if (space.length == 0) return EndReading(FailWith(UV_ENOBUFS));
      WSABUF buffer{static_cast<ULONG>(std::min<size_t>(space.length, ULONG_MAX)), space.data};
      DWORD bytes = 0, flags = 0;
      if (WSARecv(sock(), &buffer, 1, &bytes, &flags, nullptr, nullptr) == SOCKET_ERROR) {
        DWORD error = static_cast<DWORD>(WSAGetLastError());
        if (error == WSAEWOULDBLOCK) break;
        return EndReading(EventStatus(error));
      }
      if (bytes == 0) return EndReading(UV_EOF);
      got_data = true;
      listener_->OnRead(static_cast<intptr_t>(bytes));
      if (bytes < buffer.len) break;
    }
    if (closed_) return;
    if (zero_read_error != 0) {
      // The zero-byte read failed, but the socket itself reads fine: the
      // provider does not take zero-byte reads. (Had the connection
      // failed, the read above would have reported it.)
      read_mode_ = ReadMode::kBuffered;
    } else if (got_data) {
      empty_wakeups_ = 0;
    } else if (++empty_wakeups_ >= kMaxEmptyWakeups) {
      read_mode_ = ReadMode::kBuffered;
    }
    if (reading_) StartReading();
  }

  // End of stream or an error is final, as on POSIX.
  void EndReading(intptr_t status) {
    reading_ = false;
    eof_or_error_delivered_ = true;
    UpdateRef();
    if (listener_ != nullptr) listener_->OnRead(status);
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
    } else if (op->bytes == 0 && !RetryEmptySend()) {
      status = FailWith(UV_EIO);
    } else if (op->bytes == 0 || !AdvanceWrite(op->bytes)) {
      if (op->bytes > 0) empty_sends_ = 0;
      status = SendMore();
      if (status == kSendPosted) return;  // the rest is under way
      if (status == kAllSent) status = 0;
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

  bool WantsIo() const override { return reading_ || connecting_ || writing_; }

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

  // What TakeOverSocket found: completions that skip the port where an
  // operation completes at once, and HVSOCK_WINDOWS_IO.
  bool skip_on_success_ = false;
  IoOverrides overrides_;

  enum class ReadMode { kUndecided, kZeroByte, kBuffered };
  ReadMode read_mode_ = ReadMode::kUndecided;
  Op read_op_{OpKind::kRead, this};
  // The zero-byte read's buffer: a valid address for no bytes.
  char zero_byte_ = 0;
  int empty_wakeups_ = 0;
  // The posted-buffer fallback's memory, allocated on its first read.
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
  // Sends in a row that moved nothing (RetryEmptySend).
  int empty_sends_ = 0;
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

// The Windows error for a finished operation's NTSTATUS, as
// GetQueuedCompletionStatus would have set it; the loop thread asks Winsock
// for its own name of it (SocketError).
using NtStatusToDosErrorFn = ULONG(WINAPI*)(LONG);

DWORD WINAPI CompletionPort::Run(void* port) {
  auto to_dos_error = reinterpret_cast<NtStatusToDosErrorFn>(
      reinterpret_cast<void*>(GetProcAddress(GetModuleHandleW(L"ntdll.dll"), "RtlNtStatusToDosError")));
  OVERLAPPED_ENTRY entries[kPortBatch];
  Op* ops[kPortBatch];
  for (;;) {
    ULONG count = 0;
    if (!GetQueuedCompletionStatusEx(static_cast<HANDLE>(port), entries, kPortBatch, &count, INFINITE, FALSE)) {
      continue;
    }
    ULONG taken = 0;
    for (ULONG i = 0; i < count; i++) {
      OVERLAPPED* overlapped = entries[i].lpOverlapped;
      if (overlapped == nullptr) continue;  // only ops are ever posted
      Op* op = CONTAINING_RECORD(overlapped, Op, overlapped);
      op->bytes = entries[i].dwNumberOfBytesTransferred;
      // The operation's NTSTATUS; negative is a failure (NT_SUCCESS).
      auto status = static_cast<LONG>(overlapped->Internal);
      op->error = status >= 0 ? 0 : (to_dos_error != nullptr ? to_dos_error(status) : ERROR_GEN_FAILURE);
      ops[taken++] = op;
    }
    Deliver(ops, taken);
  }
}

// Each engine gets its ops from this batch in one chain, in the order the
// port returned them. All chains are built before the first hand-over: once
// an engine has its ops, its loop thread may free them, and the engine too.
void CompletionPort::Deliver(Op** ops, ULONG count) {
  Op* heads[kPortBatch];
  Op* tails[kPortBatch];
  ULONG engines = 0;
  for (ULONG i = 0; i < count; i++) {
    Op* op = ops[i];
    op->next = nullptr;
    ULONG e = 0;
    while (e < engines && heads[e]->engine != op->engine) e++;
    if (e == engines) {
      heads[engines] = tails[engines] = op;
      engines++;
    } else {
      tails[e]->next = op;
      tails[e] = op;
    }
  }
  for (ULONG e = 0; e < engines; e++) heads[e]->engine->Complete(heads[e], tails[e]);
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
