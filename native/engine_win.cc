// Windows engine: overlapped Winsock I/O through the process's completion
// port (win/completion_port.h), the model go-winio uses for AF_HYPERV.
// libuv's own Windows poll emulation would fall back to a select() thread for
// a provider it does not know, so sockets are not handed to libuv at all.
//
// Per socket, where the provider allows it, else plain overlapped I/O:
// - skip-on-success (CompletionQueue::Join): an operation that completes at
//   once brings no packet. A write that all goes at once completes inside
//   Write (kWriteDone, as on POSIX); anything else is queued for the loop.
// - zero-byte reads, as libuv's UV_HANDLE_ZERO_READ: a WSARecv of no bytes
//   waits for data, then non-blocking reads go straight into the memory the
//   owner lends. An idle socket pins no buffer, and after ReadStop nothing is
//   read from the OS. Where the provider refuses them, each socket posts a
//   64 KiB read into its own buffer and copies it out.
// Under Wine (AF_INET on loopback, where the engine suite runs) the provider
// takes both. Whether Hyper-V's does is not documented (go-winio sets
// skip-on-success on Hyper-V sockets, WSL posts zero-length receives on them:
// docs/hyperv-facts.md), hence the fallbacks, which HVSOCK_WINDOWS_IO forces
// for tests (IoOverrides). Nothing here depends on the address family.
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
#include "win/completion_port.h"
#include "win/socket_calls.h"

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

// Zero-byte reads: how much one non-blocking read asks the owner for (the
// POSIX engine's default), and how many reads one wake-up makes at most
// before it posts the next zero-byte read (as libuv: enough to drain a busy
// socket without starving the loop).
constexpr size_t kDirectReadSize = 256 * 1024;
constexpr int kMaxReadsPerWakeup = 32;
// A provider that completes zero-byte reads at once whether or not data is
// there would make every wake-up find nothing, and spin: after this many
// such wake-ups in a row, the socket falls back to posted-buffer reads.
constexpr int kMaxEmptyWakeups = 8;

// The fallback: each reading socket's own posted receive buffer.
constexpr size_t kPostedReadSize = 64 * 1024;

// Each WSASend posts at most this much of a write; the rest follows when it
// completes. An overlapped send keeps its pages locked until then, so an
// uncapped 1 GiB write would pin 1 GiB; and the continuation after a short
// completion (which the hvsocket provider may deliver: go-winio loops on
// short writes) then runs on every write above 1 MiB, not only on a rare
// occasion no test produces.
constexpr size_t kMaxSendBytes = 1 << 20;
// And at most this many buffers, as IOV_MAX bounds a writev on POSIX.
constexpr size_t kMaxSendBuffers = 1024;

// HVSOCK_WINDOWS_IO turns the per-socket optimisations off, so that the
// fallbacks real Hyper-V may need run under Wine too (test windows-io): a
// comma-separated list of `port` (no skip-on-success) and `posted-reads` (no
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

// One overlapped operation of an engine. It lives until the port has
// returned it, even if the socket was closed in between: the connect, read
// and write op inside their engine, which outlives them (Drained), accept ops
// (with their socket and address space) on the heap.
struct Op : PortOp {
  Op(OpKind k, CompletionQueue* queue) : PortOp(queue), kind(k) {}
  void Reset() {
    PortOp::Reset();
    zero_read = false;
  }
  OpKind kind;
  // Read only: a zero-byte read (it only says the socket is readable).
  bool zero_read = false;
  // Accept only: the socket AcceptEx fills, and where it writes addresses.
  SOCKET accepted = INVALID_SOCKET;
  char addresses[2 * kMaxAcceptAddressLength] = {};
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

void CopyAddress(const sockaddr* from, int length, SocketAddress* to) {
  if (from == nullptr || length <= 0 || static_cast<size_t>(length) > sizeof(to->bytes)) return;
  std::memcpy(to->bytes, from, static_cast<size_t>(length));
  to->length = static_cast<size_t>(length);
}

class WinEngine final : public EngineBase {
 public:
  explicit WinEngine(const EngineSetup& setup)
      : EngineBase(setup), family_(setup.family), protocol_(setup.protocol), connected_(setup.accepted != nullptr) {}

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
    BOOL done = connect_ex(sock(), static_cast<const sockaddr*>(addr), static_cast<int>(len), nullptr, 0, nullptr,
                           &connect_op_.overlapped);
    // Even an immediate success is reported from the loop, as on POSIX.
    if (queue_.Track(&connect_op_, done != FALSE, 0, AtOnce::kQueue) == Posted::kFailed) {
      return FailLastSocketError();
    }
    connecting_ = true;
    UpdateRef();
    return 0;
  }

  int ReadStart() override {
    reading_ = true;
    UpdateRef();
    return StartReading();
  }

  // Posted operations stay posted; what they bring is held until the next
  // start, so stopping never loses data or connections.
  int ReadStop() override {
    reading_ = false;
    UpdateRef();
    return 0;
  }

  // Connections accepted while stopped, and a failure to post any accept,
  // are reported from the loop (DrainCompleted, OnRetryTimer).
  int AcceptStart() override {
    if (!listening_) return FailWith(UV_EINVAL);
    accepting_ = true;
    UpdateRef();
    if (!held_accepts_.empty()) uv_async_send(&async_);
    if (TopUpAccepts() != 0) ArmAcceptRetry(0);
    return 0;
  }

  int AcceptStop() override {
    accepting_ = false;
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
      // All of it went at once, or a send failed: nothing is reported later.
      write_chunks_.clear();
      write_window_.clear();
      return result == kAllSent ? kWriteDone : result;
    }
    writing_ = true;
    UpdateRef();
    return kWritePending;
  }

  // Inside the JavaScript call that posted the write, so its completion
  // cannot have been dispatched yet. Released in OnWriteDone.
  bool HoldWriteOwner(napi_value owner) override {
    if (!writing_ || write_owner_ != nullptr) return false;
    if (napi_create_reference(env_, owner, 1, &write_owner_) != napi_ok) {
      write_owner_ = nullptr;  // not expected; the owner then holds it
      return false;
    }
    return true;
  }

  int ShutdownWrite() override {
    if (writing_) return FailWith(UV_EBUSY);
    if (::shutdown(sock(), SD_SEND) == SOCKET_ERROR) return FailLastSocketError();
    return 0;
  }

 private:
  using Posted = CompletionQueue::Posted;
  using AtOnce = CompletionQueue::AtOnce;

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

  int TakeOverSocket() override {
    IoOverrides overrides = ReadIoOverrides();
    if (DWORD error = queue_.Join(sock(), !overrides.no_skip)) return Fail(error);
    overrides_ = overrides;
    return 0;
  }

  // A status about to go to the owner, its Windows error remembered for
  // TakeWindowsError() only if it really goes there.
  int EventStatus(DWORD error) {
    return events_ != nullptr ? Fail(error) : uv_translate_sys_error(static_cast<int>(error));
  }

  // Posts the socket's next read, unless one is out or the stream ended.
  // Whatever completes at once, and a read held while stopped, is reported
  // from the loop, never here.
  int StartReading() {
    if (read_posted_ || eof_or_error_delivered_) return 0;
    if (read_mode_ == ReadMode::kUndecided) ChooseReadMode();
    read_posted_ = true;
    if (read_held_) {
      read_held_ = false;
      queue_.FinishLater(&read_op_, read_op_.error);
      return 0;
    }
    if (read_mode_ == ReadMode::kZeroByte && PostZeroByteRead()) return 0;
    PostBufferedRead();
    return 0;
  }

  // Zero-byte reads need a non-blocking socket for the reads that follow:
  // FIONBIO, which governs only calls made without an OVERLAPPED (libuv sets
  // it on every socket it drives with overlapped I/O). Decided on the first
  // read, so a listening socket is never changed.
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
    int r = WSARecv(sock(), &none, 1, &bytes, &flags, &read_op_.overlapped, nullptr);
    if (queue_.Track(&read_op_, r == 0, 0, AtOnce::kQueue) != Posted::kFailed) return true;
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
    int r = WSARecv(sock(), &buffer, 1, &bytes, &flags, &read_op_.overlapped, nullptr);
    if (queue_.Track(&read_op_, r == 0, bytes, AtOnce::kQueue) == Posted::kFailed) {
      queue_.FinishLater(&read_op_, static_cast<DWORD>(WSAGetLastError()));
    }
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

  // Outside any JavaScript call. With no accept posted the socket would never
  // hear of a connection again: that is an accept error, reported once, and
  // posting is retried until it works (the cause may pass: EMFILE, ENOBUFS,
  // an accept option the provider refuses only for a while).
  void KeepAccepting() {
    if (closed_ || !listening_ || !accepting_) return;
    int err = TopUpAccepts();
    if (err == 0) return;
    ArmAcceptRetry(kAcceptRetryMs);
    if (deaf_reported_ || events_ == nullptr) {
      SetWindowsError(0);  // not reported, so nobody may take it
      return;
    }
    deaf_reported_ = true;
    events_->OnConnection(err, nullptr);
  }

  void ArmAcceptRetry(uint64_t delay_ms) {
    if (timer_ready_ && !closed_) uv_timer_start(&retry_timer_, OnRetryTimer, delay_ms, 0);
  }

  static void OnRetryTimer(uv_timer_t* timer) { From<WinEngine>(timer)->KeepAccepting(); }

  int PostAccept() {
    SOCKET s = NewSocket(family_, protocol_);
    if (s == INVALID_SOCKET) return FailLastSocketError();
    // Before AcceptEx: the connection is made on this socket, so this is
    // when its options take effect (WSL sets HVSOCKET_CONNECTED_SUSPEND on
    // its accept sockets so: https://github.com/microsoft/WSL/blob/master/src/windows/common/hvsocket.cpp).
    int err = ApplyAcceptOptions(static_cast<OsSocket>(s));
    if (err != 0) {
      closesocket(s);
      return err;
    }
    auto* op = new Op(OpKind::kAccept, &queue_);
    op->accepted = s;
    DWORD received = 0;
    BOOL done = accept_ex_(sock(), s, op->addresses, 0, accept_address_length_, accept_address_length_, &received,
                           &op->overlapped);
    if (queue_.Track(op, done != FALSE, received, AtOnce::kQueue) == Posted::kFailed) {
      int err = FailLastSocketError();
      closesocket(s);
      delete op;
      return err;
    }
    accepts_posted_++;
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
      int r = WSASend(sock(), write_window_.data(), static_cast<DWORD>(write_window_.size()), &sent, 0,
                      &write_op_.overlapped, nullptr);
      Posted posted = queue_.Track(&write_op_, r == 0, sent, AtOnce::kReturn);
      if (posted == Posted::kFailed) return FailLastSocketError();
      if (posted == Posted::kUnderWay) return kSendPosted;
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
    if (accepting_ && !held_accepts_.empty()) DeliverHeldAccepts();
    queue_.Drain([this](PortOp* op) { Dispatch(static_cast<Op*>(op)); });
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
      if (closed_ || events_ == nullptr) {
        closesocket(static_cast<SOCKET>(accepted.socket));
      } else if (!accepting_) {
        held_accepts_.push_back(accepted);  // stopped again by a connection handler
      } else {
        events_->OnConnection(0, &accepted);
      }
    }
  }

  // The error of a finished operation as Winsock names it: the port thread
  // only sees the generic Windows error (ERROR_CONNECTION_REFUSED rather than
  // WSAECONNREFUSED, for instance).
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
    if (events_ != nullptr) events_->OnConnect(status);
  }

  // The addresses AcceptEx wrote, in the slots sized for the family: the
  // accepted socket's addresses (see AcceptedSocket).
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
      // A connection that died before we took it is nobody's business.
      bool aborted = error == WSAECONNRESET || error == ERROR_NETNAME_DELETED || error == WSAECONNABORTED ||
                     error == ERROR_CONNECTION_ABORTED;
      if (!aborted && events_ != nullptr) events_->OnConnection(EventStatus(error), nullptr);
    } else if (!accepting_) {
      held_accepts_.push_back(accepted);
    } else if (events_ != nullptr) {
      events_->OnConnection(0, &accepted);
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
    if (events_ == nullptr) return;
    // The one copy: from the posted read's own memory into JavaScript's.
    events_->OnReadFrom(read_storage_.data(), op->bytes);
    if (!closed_ && reading_) StartReading();
  }

  // A zero-byte read completed: the socket has data, or its end, or an
  // error. Non-blocking reads into the memory the owner lends until the
  // socket is empty (WSAEWOULDBLOCK, or a short read), reading stops, or
  // kMaxReadsPerWakeup reads; then the next zero-byte read is posted.
  void ReadReadySocket(DWORD zero_read_error) {
    bool got_data = false;
    for (int i = 0; i < kMaxReadsPerWakeup && reading_ && !closed_ && events_ != nullptr; i++) {
      ReadSpace space = events_->OnAllocRead(kDirectReadSize);
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
      events_->OnRead(static_cast<intptr_t>(bytes));
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
    if (events_ != nullptr) events_->OnRead(status);
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
    // The port has returned the write: the buffers may go now, and not
    // before, closed socket or not. (During teardown the cleanup hook keeps
    // the napi_env alive until Free.)
    write_chunks_.clear();
    write_window_.clear();
    ReleaseWriteOwner();
    if (closed_) return;
    if (events_ != nullptr) events_->OnWriteDone(status);
  }

  bool WantsIo() const override { return reading_ || accepting_ || connecting_ || writing_; }

  void StopIo() override {
    if (timer_ready_) uv_timer_stop(&retry_timer_);
    if (socket_ != kInvalidSocket) {
      if (connected_ && !writing_) {
        // Every write has completed, so the kernel holds all that is left to
        // send. Winsock closes gracefully only when no receive is pending or
        // the socket is shut down for sending (libuv:src/win/tcp.c does the
        // same): with a read posted, closesocket alone may reset the
        // connection and the peer lose the end of our data. A write still
        // posted is being destroyed: no shutdown then.
        ::shutdown(sock(), SD_SEND);
      }
      // Every posted op now comes back through the port (aborted, or done if
      // it got there first); the engine lives until the last one has.
      CancelIoEx(reinterpret_cast<HANDLE>(sock()), nullptr);
      closesocket(sock());
    }
    for (AcceptedSocket& accepted : held_accepts_) closesocket(static_cast<SOCKET>(accepted.socket));
    held_accepts_.clear();
    // Until the aborted operations are back the loop must keep polling, as
    // it does for a closing handle: environment teardown spins uv_run until
    // our cleanup hook is done, and an unreferenced handle would let uv_run
    // return without ever looking at the port.
    if (async_ready_ && queue_.HasOutstanding() && !refed_) {
      uv_ref(reinterpret_cast<uv_handle_t*>(&async_));
      refed_ = true;
    }
  }

  bool IoDrained() override { return queue_.Drained(); }

  // Loop thread only: napi calls are not allowed on the port thread.
  void ReleaseWriteOwner() {
    if (write_owner_ == nullptr) return;
    napi_delete_reference(env_, write_owner_);
    write_owner_ = nullptr;
  }

  // The write op is back (IoDrained); the environment still exists.
  void BeforeFree() override { ReleaseWriteOwner(); }

  int family_;
  int protocol_;
  uv_async_t async_{};
  bool async_ready_ = false;
  uv_timer_t retry_timer_{};
  bool timer_ready_ = false;
  CompletionQueue queue_{&async_};

  bool listening_ = false;
  bool connecting_ = false;
  bool connected_ = false;
  bool reading_ = false;
  bool accepting_ = false;

  LPFN_ACCEPTEX accept_ex_ = nullptr;
  LPFN_GETACCEPTEXSOCKADDRS accept_sockaddrs_ = nullptr;
  DWORD accept_address_length_ = kMaxAcceptAddressLength;
  int accepts_posted_ = 0;
  bool deaf_reported_ = false;
  std::vector<AcceptedSocket> held_accepts_;

  Op connect_op_{OpKind::kConnect, &queue_};

  // HVSOCK_WINDOWS_IO as TakeOverSocket found it.
  IoOverrides overrides_;

  enum class ReadMode { kUndecided, kZeroByte, kBuffered };
  ReadMode read_mode_ = ReadMode::kUndecided;
  Op read_op_{OpKind::kRead, &queue_};
  // The zero-byte read's buffer: a valid address for no bytes.
  char zero_byte_ = 0;
  int empty_wakeups_ = 0;
  // The posted-buffer fallback's memory, allocated on its first read.
  std::vector<char> read_storage_;
  bool read_posted_ = false;
  bool read_held_ = false;
  bool eof_or_error_delivered_ = false;

  Op write_op_{OpKind::kWrite, &queue_};
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

}  // namespace

EngineBase* NewEngine(const EngineSetup& setup) { return new WinEngine(setup); }

}  // namespace hvsock
