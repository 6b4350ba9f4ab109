// POSIX engine: a non-blocking socket driven by libuv readiness (uv_poll_t)
// on the environment's own loop. The shape follows libuv:src/unix/stream.c:
// bounded reads per wakeup, each as large as the socket's receive buffer and
// into the environment's read space (EngineEvents::OnAllocRead); gathered writes;
// a writable watch only once the kernel has pushed back. Creating, adopting,
// closing and freeing an engine are shared with Windows (engine_base.cc);
// this file holds the syscalls and the readiness handling on the loop.
//
// The watch is widened at once and narrowed lazily. uv_poll_start and
// uv_poll_stop each take the descriptor out of epoll on the spot
// (uv__platform_invalidate_fd) and uv_poll_start puts it back on the next
// loop turn: two epoll_ctl calls per change. A pause that is resumed, or a
// write that completes only for the next one to be queued in its callback,
// would pay them every time. So an interest that lapses stays armed until an
// event for it arrives that nobody wants; only then is the watch narrowed. A
// paused reader still never reads: the kernel buffer fills and the peer
// waits, exactly as with an eager disarm. A watch kept armed that way must not
// keep the process alive, though: the poll handle is referenced only while
// the engine wants something (reading, writing or connecting), as a libuv
// stream is active only while it reads or writes; node:net lets the loop exit
// after uv_read_stop with nothing to write, and so does this engine.
//
// Closing: the watch is stopped before the fd is closed, as libuv requires of
// a polled fd (uv_poll_stop removes it from epoll at once). Closing the fd
// alone removes it from epoll only when no other descriptor refers to the
// same socket; an adopted listener (listen({ fd })) is still open in the
// process that passed it, so its registration would live on, and a queued
// connection would then wake the loop for good, or, once the fd number is
// reused, reach the wrong watcher.
#include "engine_base.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#ifdef __linux__
#include <linux/vm_sockets.h>
#endif

namespace hvsock {
namespace {

// Like libuv: enough to drain a busy socket without starving the loop.
constexpr int kMaxReadsPerWakeup = 32;

// One read takes what the socket's receive buffer holds (vsock: 256 KiB by
// default, SO_VM_SOCKETS_BUFFER_SIZE), within these bounds: a read smaller
// than the buffer costs a syscall and a JavaScript callback per slice of it.
constexpr size_t kMinReadSize = 64 * 1024;
constexpr size_t kMaxReadSize = 1024 * 1024;
constexpr size_t kDefaultReadSize = 256 * 1024;

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#ifndef SO_VM_SOCKETS_BUFFER_SIZE
#define SO_VM_SOCKETS_BUFFER_SIZE 0
#endif

// How much one read asks for: the kernel's receive buffer for the socket,
// clamped to the bounds above. `whole` says whether that is all the kernel
// can hold for the socket: vsock's buffer size bounds the bytes queued for it
// (the peer sends only as much as it has credit for), where TCP's SO_RCVBUF
// is only a starting point that autotuning moves.
size_t ReadSize(int fd, bool* whole) {
  uint64_t vsock_size = 0;
  socklen_t len = sizeof(vsock_size);
  size_t size = kDefaultReadSize;
  *whole = false;
  if (getsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_BUFFER_SIZE, &vsock_size, &len) == 0 && len == sizeof(vsock_size)) {
    size = static_cast<size_t>(vsock_size);
    *whole = size >= kMinReadSize && size <= kMaxReadSize;
  } else {
    int rcvbuf = 0;
    len = sizeof(rcvbuf);
    if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &len) == 0 && rcvbuf > 0) size = static_cast<size_t>(rcvbuf);
  }
  return std::min(std::max(size, kMinReadSize), kMaxReadSize);
}

// What a watch is for, as uv_poll events.
constexpr int kNone = 0;

#ifndef IOV_MAX
#define IOV_MAX 1024
#endif

int SetNonBlockingCloExec(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags == -1 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1) return -errno;
  flags = fcntl(fd, F_GETFD);
  if (flags == -1 || fcntl(fd, F_SETFD, flags | FD_CLOEXEC) == -1) return -errno;
  return 0;
}

int NewSocket(int family, int protocol) {
#ifdef SOCK_NONBLOCK
  int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  if (fd == -1) return -errno;
  return fd;
#else
  int fd = ::socket(family, SOCK_STREAM, protocol);
  if (fd == -1) return -errno;
  int err = SetNonBlockingCloExec(fd);
  if (err != 0) {
    ::close(fd);
    return err;
  }
  return fd;
#endif
}

int AcceptOne(int fd) {
  for (;;) {
#ifdef __linux__
    int peer = ::accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (peer != -1) return peer;
#else
    int peer = ::accept(fd, nullptr, nullptr);
    if (peer != -1) {
      int err = SetNonBlockingCloExec(peer);
      if (err == 0) return peer;
      ::close(peer);
      return err;
    }
#endif
    if (errno != EINTR) return -errno;
  }
}

// An adopted descriptor (systemd socket activation, listen({ fd })) must be a
// stream socket of the family we speak, or every later call would fail
// confusingly.
int CheckAdoptableFd(int fd, int family) {
  int type = 0;
  socklen_t len = sizeof(type);
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1) return -errno;
  if (type != SOCK_STREAM) return -EPROTOTYPE;
#ifdef SO_DOMAIN
  if (family > 0) {
    int domain = 0;
    len = sizeof(domain);
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == -1) return -errno;
    if (domain != family) return -EAFNOSUPPORT;
  }
#else
  (void)family;
#endif
  return SetNonBlockingCloExec(fd);
}

class PosixEngine final : public EngineBase {
 public:
  explicit PosixEngine(const EngineSetup& setup) : EngineBase(setup) {}

  int Bind(const void* addr, size_t len) override {
    if (::bind(fd(), static_cast<const sockaddr*>(addr), static_cast<socklen_t>(len)) == -1) return -errno;
    return 0;
  }

  int Listen(int backlog) override {
    if (::listen(fd(), backlog) == -1) return -errno;
    int err = CompleteAdoption();
    if (err != 0) return err;
    listening_ = true;
    return 0;
  }

  int Connect(const void* addr, size_t len) override {
    int r;
    do {
      r = ::connect(fd(), static_cast<const sockaddr*>(addr), static_cast<socklen_t>(len));
    } while (r == -1 && errno == EINTR);
    // Success and EINPROGRESS both finish on the next writable wakeup, so the
    // outcome is always reported asynchronously, as node:net does.
    if (r == -1 && errno != EINPROGRESS) return -errno;
    connecting_ = true;
    return Widen();
  }

  int ReadStart() override { return Want(&reading_); }
  // Lazily: see the top of the file. Nothing is read until ReadStart.
  int ReadStop() override { return Unwant(&reading_); }

  // A listening socket is readable when a connection waits.
  int AcceptStart() override {
    if (!listening_) return UV_EINVAL;
    return Want(&accepting_);
  }
  int AcceptStop() override { return Unwant(&accepting_); }

  int Write(const WriteChunk* chunks, size_t count) override {
    if (writing_) return UV_EBUSY;
    // clear() keeps the capacity: after the first few writes, none allocates.
    pending_.clear();
    for (size_t i = 0; i < count; i++) {
      if (chunks[i].length == 0) continue;
      pending_.push_back(iovec{const_cast<char*>(chunks[i].data), chunks[i].length});
    }
    next_ = 0;
    int r = Flush();
    if (r <= 0) {
      pending_.clear();
      return r;
    }
    writing_ = true;
    int err = Widen();
    if (err != 0) {
      writing_ = false;
      pending_.clear();
      return err;
    }
    return kWritePending;
  }

  int ShutdownWrite() override {
    if (writing_) return UV_EBUSY;
    if (::shutdown(fd(), SHUT_WR) == -1) return -errno;
    return 0;
  }

 private:
  ~PosixEngine() override = default;

  int fd() const { return static_cast<int>(socket_); }

  int InitLoop() override {
    int err = uv_poll_init_socket(loop_, &poll_, fd());
    if (err != 0) return err;
    ref_handle_ = reinterpret_cast<uv_handle_t*>(&poll_);
    AddHandle(ref_handle_);
    uv_unref(ref_handle_);
    UpdateRef();
    return 0;
  }

  // Nothing to do: the poll handle watches any descriptor without joining
  // anything for good.
  int TakeOverSocket() override { return 0; }

  void OnOptionSet() override { read_size_ = 0; }

  void StopIo() override {
    pending_.clear();
    // Out of epoll first (see the top of the file), then the fd is closed
    // right away, so a closed socket is visible to the peer (and to fd-leak
    // checks) without waiting for the next loop turn; the uv_close that
    // MaybeFree does right after drops any events libuv still holds for it.
    if (armed_ != kNone) {
      uv_poll_stop(&poll_);
      armed_ = kNone;
    }
    if (socket_ != kInvalidSocket) ::close(fd());
  }

  int Want(bool* flag) {
    if (*flag) return 0;
    *flag = true;
    return Widen();
  }

  int Unwant(bool* flag) {
    *flag = false;
    UpdateRef();
    return 0;
  }

  // The events the engine wants now.
  int Wanted() const {
    int mask = kNone;
    if (reading_ || accepting_) mask |= UV_READABLE;
    if (connecting_ || writing_) mask |= UV_WRITABLE;
    return mask;
  }

  int Arm(int mask) {
    if (closed_ || mask == armed_) return 0;
    int err = mask == kNone ? uv_poll_stop(&poll_) : uv_poll_start(&poll_, mask, OnPoll);
    if (err == 0) armed_ = mask;
    return err;
  }

  // The poll handle keeps the loop alive only while this is true (and the
  // user has not unref()d it), though the watch may stay armed longer.
  bool WantsIo() const override { return Wanted() != kNone; }

  // Adds what is wanted now to the watch, keeping what lapsed (see the top).
  // Inside HandlePoll it waits for the end of it.
  int Widen() {
    if (in_poll_) return 0;
    int err = Arm(armed_ | Wanted());
    UpdateRef();
    return err;
  }

  // Returns 0 when everything went out, 1 when the kernel pushed back, or a
  // negative error.
  int Flush() {
    while (next_ < pending_.size()) {
      msghdr msg{};
      msg.msg_iov = &pending_[next_];
      msg.msg_iovlen = std::min<size_t>(pending_.size() - next_, IOV_MAX);
      size_t asked = 0;
      for (size_t i = 0; i < static_cast<size_t>(msg.msg_iovlen); i++) asked += msg.msg_iov[i].iov_len;
      // MSG_NOSIGNAL: a peer that went away is an EPIPE error, never a
      // SIGPIPE that kills a host process that did not ignore it.
      ssize_t n = ::sendmsg(fd(), &msg, MSG_NOSIGNAL);
      if (n == -1) {
        if (errno == EINTR) continue;
        // ENOBUFS: the kernel is short of memory for now, as libuv treats it.
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) return 1;
        return -errno;
      }
      Advance(static_cast<size_t>(n));
      // A short write means the send buffer is full: asking again would
      // only be told EAGAIN.
      if (static_cast<size_t>(n) < asked) return next_ < pending_.size() ? 1 : 0;
    }
    return 0;
  }

  // Drops `left` sent bytes from the front of pending_.
  void Advance(size_t left) {
    while (left > 0 && next_ < pending_.size()) {
      iovec& v = pending_[next_];
      if (left >= v.iov_len) {
        left -= v.iov_len;
        next_++;
      } else {
        v.iov_base = static_cast<char*>(v.iov_base) + left;
        v.iov_len -= left;
        left = 0;
      }
    }
  }

  int PendingSocketError() {
    int soerr = 0;
    socklen_t len = sizeof(soerr);
    if (getsockopt(fd(), SOL_SOCKET, SO_ERROR, &soerr, &len) == -1) return -errno;
    return -soerr;
  }

  static void OnPoll(uv_poll_t* handle, int status, int events) {
    From<PosixEngine>(handle)->HandlePoll(status, events);
  }

  void HandlePoll(int status, int events) {
    if (status < 0) {
      // libuv reports POLLERR as UV_EBADF and stops the watcher; the real
      // reason is the socket's pending error.
      armed_ = kNone;
      int soerr = PendingSocketError();
      if (soerr != 0) status = soerr;
      events = UV_READABLE | UV_WRITABLE;
    }
    // Readable while paused: the one moment the read watch is narrowed.
    bool read_lapsed = (events & UV_READABLE) != 0 && !reading_ && !accepting_;
    // The callbacks below may start reads and writes; the watch is set once,
    // at the end, to what they left wanted.
    in_poll_ = true;
    Dispatch(status, events);
    in_poll_ = false;
    if (closed_) return;
    int mask = Wanted();
    if ((armed_ & UV_READABLE) != 0 && !read_lapsed && !read_ended_) mask |= UV_READABLE;
    Arm(mask);
    UpdateRef();
  }

  void Dispatch(int status, int events) {
    if (connecting_ && (events & UV_WRITABLE)) {
      connecting_ = false;
      int err = status < 0 ? status : PendingSocketError();
      if (events_ != nullptr) events_->OnConnect(err);
      if (closed_) return;
    }
    if (writing_ && (events & UV_WRITABLE)) {
      int r = status < 0 ? status : Flush();
      if (r <= 0) {
        writing_ = false;
        pending_.clear();
        if (events_ != nullptr) events_->OnWriteDone(r);
        if (closed_) return;
      }
    }
    if (events & UV_READABLE) {
      if (accepting_) AcceptPending(status);
      if (reading_) ReadPending(status);
    }
  }

  void AcceptPending(int status) {
    for (int i = 0; i < kMaxReadsPerWakeup && accepting_ && !closed_; i++) {
      int peer = status < 0 ? status : AcceptOne(fd());
      if (peer == UV_EAGAIN || peer == -EWOULDBLOCK) return;
      // A connection that died in the backlog is nobody's business.
      if (peer == -ECONNABORTED) continue;
      if (events_ == nullptr) {
        if (peer >= 0) ::close(peer);
        return;
      }
      if (peer < 0) {
        events_->OnConnection(peer, nullptr);
        return;
      }
      // No moment before accept() exists here: the options go on at once.
      // (The addresses stay with the socket: vsock's getsockname is right.)
      int err = ApplyAcceptOptions(peer);
      if (err != 0) {
        ::close(peer);
        events_->OnConnection(err, nullptr);
        continue;
      }
      AcceptedSocket accepted;
      accepted.socket = peer;
      events_->OnConnection(0, &accepted);
    }
  }

  void ReadPending(int status) {
    for (int i = 0; i < kMaxReadsPerWakeup && reading_ && !closed_ && events_ != nullptr; i++) {
      ssize_t n;
      size_t asked = 0;
      if (status < 0) {
        n = status;
      } else {
        // Asked once, and again after an option may have changed it.
        if (read_size_ == 0) read_size_ = ReadSize(fd(), &read_takes_all_);
        ReadSpace space = events_->OnAllocRead(read_size_);
        asked = space.length;
        if (space.length == 0) {
          n = UV_ENOBUFS;
        } else {
          do {
            n = ::recv(fd(), space.data, space.length, 0);
          } while (n == -1 && errno == EINTR);
          if (n == -1) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            n = -errno;
          }
        }
      }
      if (n <= 0) {
        // End of stream or an error is final: stop watching at once, or a
        // level-triggered watch would report it forever.
        reading_ = false;
        read_ended_ = true;
        events_->OnRead(n == 0 ? static_cast<ssize_t>(UV_EOF) : n);
        return;
      }
      events_->OnRead(n);
      // A short read means the socket is drained, and so does any read that
      // asked for all the kernel can hold: skip the recv that would only be
      // told EAGAIN. If more came meanwhile, the level-triggered watch says
      // so on the next turn of the loop.
      if (static_cast<size_t>(n) < asked || read_takes_all_) return;
    }
  }

  uv_poll_t poll_{};

  bool listening_ = false;
  bool connecting_ = false;
  bool reading_ = false;
  bool accepting_ = false;
  bool writing_ = false;
  bool read_ended_ = false;
  // Inside HandlePoll: the watch is set once, when it returns.
  bool in_poll_ = false;
  int armed_ = kNone;
  // Bytes asked of the kernel per read (ReadSize); 0: ask the socket.
  size_t read_size_ = 0;
  // Whether read_size_ is all the kernel can hold for the socket.
  bool read_takes_all_ = false;

  std::vector<iovec> pending_;
  size_t next_ = 0;
};

}  // namespace

int PlatformReady() { return 0; }

int OpenSocket(int family, int protocol, OsSocket* socket) {
  int fd = NewSocket(family, protocol);
  if (fd < 0) return fd;
  *socket = fd;
  return 0;
}

int CheckAdoptable(OsSocket socket, int* family, int* protocol) {
  (void)protocol;
  return CheckAdoptableFd(static_cast<int>(socket), *family);
}

EngineBase* NewEngine(const EngineSetup& setup) { return new PosixEngine(setup); }

int SocketName(OsSocket socket, bool peer, void* addr, size_t* len) {
  socklen_t l = static_cast<socklen_t>(*len);
  int fd = static_cast<int>(socket);
  auto* sa = static_cast<sockaddr*>(addr);
  int r = peer ? ::getpeername(fd, sa, &l) : ::getsockname(fd, sa, &l);
  if (r == -1) return -errno;
  *len = l;
  return 0;
}

int SetSocketOption(OsSocket socket, int level, int name, const void* value, size_t len) {
  if (setsockopt(static_cast<int>(socket), level, name, value, static_cast<socklen_t>(len)) == -1) return -errno;
  return 0;
}

int GetSocketOption(OsSocket socket, int level, int name, void* value, size_t* len) {
  socklen_t l = static_cast<socklen_t>(*len);
  if (getsockopt(static_cast<int>(socket), level, name, value, &l) == -1) return -errno;
  *len = l;
  return 0;
}

void CloseOsSocket(OsSocket socket) { ::close(static_cast<int>(socket)); }

int LocalCid(uint32_t* cid) {
#ifdef __linux__
  int fd = ::open("/dev/vsock", O_RDONLY | O_CLOEXEC);
  if (fd == -1) return -errno;
  unsigned int value = 0;
  int r = ::ioctl(fd, IOCTL_VM_SOCKETS_GET_LOCAL_CID, &value);
  int err = r == -1 ? -errno : 0;
  ::close(fd);
  if (err == 0) *cid = value;
  return err;
#else
  (void)cid;
  return UV_ENOSYS;
#endif
}

int ProbeFamily(int family, int protocol) {
  int fd = NewSocket(family, protocol);
  if (fd < 0) return fd;
  ::close(fd);
  return 0;
}

}  // namespace hvsock
