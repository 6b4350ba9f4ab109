// POSIX engine: a non-blocking socket driven by libuv readiness (uv_poll_t)
// on the environment's own loop. The shape follows libuv's src/unix/stream.c:
// bounded reads per wakeup, gathered writes, and a writable watch only while
// the kernel has pushed back.
#include "engine.h"

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
int CheckAdoptable(int fd, int family) {
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

class PosixEngine final : public Engine {
 public:
  // `owns_fd` is false for an adopted descriptor until Listen() succeeds:
  // closing the engine before that leaves it open for its owner.
  PosixEngine(napi_env env, EngineListener* listener, int fd, bool owns_fd)
      : env_(env), listener_(listener), fd_(fd), owns_fd_(owns_fd) {}

  int Init(uv_loop_t* loop) {
    int err = uv_poll_init_socket(loop, &poll_, fd_);
    if (err != 0) return err;
    poll_.data = this;
    poll_ready_ = true;
    // Until the environment goes away we own OS resources; teardown must
    // wait for the loop to let go of the poll handle.
    if (napi_add_async_cleanup_hook(env_, OnEnvTeardown, this, &teardown_hook_) != napi_ok) {
      teardown_hook_ = nullptr;
    }
    return 0;
  }

  int Bind(const void* addr, size_t len) override {
    if (::bind(fd_, static_cast<const sockaddr*>(addr), static_cast<socklen_t>(len)) == -1) return -errno;
    return 0;
  }

  int Listen(int backlog) override {
    if (::listen(fd_, backlog) == -1) return -errno;
    owns_fd_ = true;
    listening_ = true;
    return 0;
  }

  int Connect(const void* addr, size_t len) override {
    int r;
    do {
      r = ::connect(fd_, static_cast<const sockaddr*>(addr), static_cast<socklen_t>(len));
    } while (r == -1 && errno == EINTR);
    // Success and EINPROGRESS both finish on the next writable wakeup, so the
    // outcome is always reported asynchronously, as node:net does.
    if (r == -1 && errno != EINPROGRESS) return -errno;
    connecting_ = true;
    return UpdatePoll();
  }

  int ReadStart(char* buffer, size_t length) override {
    read_buffer_ = buffer;
    read_length_ = length;
    reading_ = true;
    return UpdatePoll();
  }

  int ReadStop() override {
    reading_ = false;
    return UpdatePoll();
  }

  int Write(const WriteChunk* chunks, size_t count) override {
    if (writing_) return UV_EBUSY;
    pending_.clear();
    pending_.reserve(count);
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
    int err = UpdatePoll();
    if (err != 0) {
      writing_ = false;
      pending_.clear();
      return err;
    }
    return kWritePending;
  }

  int SetAcceptOptions(std::vector<SocketOption> options) override {
    accept_options_ = std::move(options);
    return 0;
  }

  int ShutdownWrite() override {
    if (writing_) return UV_EBUSY;
    if (::shutdown(fd_, SHUT_WR) == -1) return -errno;
    return 0;
  }

  int GetSockName(void* addr, size_t* len) override {
    socklen_t l = static_cast<socklen_t>(*len);
    if (::getsockname(fd_, static_cast<sockaddr*>(addr), &l) == -1) return -errno;
    *len = l;
    return 0;
  }

  int GetPeerName(void* addr, size_t* len) override {
    socklen_t l = static_cast<socklen_t>(*len);
    if (::getpeername(fd_, static_cast<sockaddr*>(addr), &l) == -1) return -errno;
    *len = l;
    return 0;
  }

  int SetOption(int level, int name, const void* value, size_t len) override {
    if (setsockopt(fd_, level, name, value, static_cast<socklen_t>(len)) == -1) return -errno;
    return 0;
  }

  int GetOption(int level, int name, void* value, size_t* len) override {
    socklen_t l = static_cast<socklen_t>(*len);
    if (getsockopt(fd_, level, name, value, &l) == -1) return -errno;
    *len = l;
    return 0;
  }

  void Ref() override { uv_ref(reinterpret_cast<uv_handle_t*>(&poll_)); }
  void Unref() override { uv_unref(reinterpret_cast<uv_handle_t*>(&poll_)); }
  OsSocket socket() const override { return fd_; }

  void Close() override {
    listener_ = nullptr;
    CloseNow();
  }

  // For an engine whose Init failed: nothing is registered with the loop yet.
  void Discard(bool close_socket) {
    if (!close_socket) fd_ = -1;
    Close();
  }

 private:
  ~PosixEngine() override = default;

  void CloseNow() {
    if (closed_) return;
    closed_ = true;
    pending_.clear();
    // uv_close stops the watcher synchronously, so the fd may be closed
    // right away: a closed socket is visible to the peer (and to fd-leak
    // checks) without waiting for the next loop turn.
    if (poll_ready_) uv_close(reinterpret_cast<uv_handle_t*>(&poll_), OnHandleClosed);
    if (fd_ >= 0 && owns_fd_) ::close(fd_);
    fd_ = -1;
    if (!poll_ready_) Free();
  }

  static void OnHandleClosed(uv_handle_t* handle) {
    static_cast<PosixEngine*>(handle->data)->Free();
  }

  void Free() {
    if (teardown_hook_ != nullptr) napi_remove_async_cleanup_hook(teardown_hook_);
    delete this;
  }

  static void OnEnvTeardown(napi_async_cleanup_hook_handle, void* arg) {
    auto* self = static_cast<PosixEngine*>(arg);
    EngineListener* listener = self->listener_;
    self->listener_ = nullptr;
    if (listener != nullptr) listener->OnTeardown();
    // If a close is already under way, its callback completes the hook.
    self->CloseNow();
  }

  int UpdatePoll() {
    if (closed_) return 0;
    int mask = 0;
    if (reading_) mask |= UV_READABLE;
    if (connecting_ || writing_) mask |= UV_WRITABLE;
    if (mask == armed_) return 0;
    int err = mask == 0 ? uv_poll_stop(&poll_) : uv_poll_start(&poll_, mask, OnPoll);
    if (err == 0) armed_ = mask;
    return err;
  }

  // Returns 0 when everything went out, 1 when the kernel pushed back, or a
  // negative error.
  int Flush() {
    while (next_ < pending_.size()) {
      msghdr msg{};
      msg.msg_iov = &pending_[next_];
      msg.msg_iovlen = std::min<size_t>(pending_.size() - next_, IOV_MAX);
      // MSG_NOSIGNAL: a peer that went away is an EPIPE error, never a
      // SIGPIPE that kills a host process that did not ignore it.
      ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
      if (n == -1) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return 1;
        return -errno;
      }
      size_t left = static_cast<size_t>(n);
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
    return 0;
  }

  int PendingSocketError() {
    int soerr = 0;
    socklen_t len = sizeof(soerr);
    if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1) return -errno;
    return -soerr;
  }

  static void OnPoll(uv_poll_t* handle, int status, int events) {
    static_cast<PosixEngine*>(handle->data)->HandlePoll(status, events);
  }

  void HandlePoll(int status, int events) {
    if (status < 0) {
      // libuv reports POLLERR as UV_EBADF and stops the watcher; the real
      // reason is the socket's pending error.
      armed_ = 0;
      int soerr = PendingSocketError();
      if (soerr != 0) status = soerr;
      events = UV_READABLE | UV_WRITABLE;
    }
    if (connecting_ && (events & UV_WRITABLE)) {
      connecting_ = false;
      int err = status < 0 ? status : PendingSocketError();
      UpdatePoll();
      if (listener_ != nullptr) listener_->OnConnect(err);
      if (closed_) return;
    }
    if (writing_ && (events & UV_WRITABLE)) {
      int r = status < 0 ? status : Flush();
      if (r <= 0) {
        writing_ = false;
        pending_.clear();
        UpdatePoll();
        if (listener_ != nullptr) listener_->OnWriteDone(r);
        if (closed_) return;
      }
    }
    if (reading_ && (events & UV_READABLE)) {
      if (listening_) {
        AcceptPending(status);
      } else {
        ReadPending(status);
      }
      if (closed_) return;
    }
    UpdatePoll();
  }

  void AcceptPending(int status) {
    for (int i = 0; i < kMaxReadsPerWakeup && reading_ && !closed_; i++) {
      int peer = status < 0 ? status : AcceptOne(fd_);
      if (peer == UV_EAGAIN || peer == -EWOULDBLOCK) return;
      // A connection that died in the backlog is nobody's business.
      if (peer == -ECONNABORTED) continue;
      if (listener_ == nullptr) {
        if (peer >= 0) ::close(peer);
        return;
      }
      if (peer < 0) {
        listener_->OnConnection(peer, nullptr);
        return;
      }
      // No moment before accept() exists here: the options go on at once.
      // (The addresses stay with the socket: vsock's getsockname is right.)
      int err = ApplyAcceptOptions(peer);
      if (err != 0) {
        ::close(peer);
        listener_->OnConnection(err, nullptr);
        continue;
      }
      AcceptedSocket accepted;
      accepted.socket = peer;
      listener_->OnConnection(0, &accepted);
    }
  }

  int ApplyAcceptOptions(int fd) {
    for (const SocketOption& option : accept_options_) {
      if (setsockopt(fd, option.level, option.name, option.value.data(), static_cast<socklen_t>(option.value.size())) ==
          -1) {
        return -errno;
      }
    }
    return 0;
  }

  void ReadPending(int status) {
    for (int i = 0; i < kMaxReadsPerWakeup && reading_ && !closed_; i++) {
      ssize_t n;
      if (status < 0) {
        n = status;
      } else {
        do {
          n = ::recv(fd_, read_buffer_, read_length_, 0);
        } while (n == -1 && errno == EINTR);
        if (n == -1) {
          if (errno == EAGAIN || errno == EWOULDBLOCK) return;
          n = -errno;
        }
      }
      if (n <= 0) {
        // End of stream or an error is final: stop watching, or a
        // level-triggered watcher would report it forever.
        reading_ = false;
        UpdatePoll();
        if (listener_ != nullptr) listener_->OnRead(n == 0 ? static_cast<ssize_t>(UV_EOF) : n);
        return;
      }
      if (listener_ == nullptr) return;
      listener_->OnRead(n);
      // A short read means the socket is drained; skip the EAGAIN round trip.
      if (static_cast<size_t>(n) < read_length_) return;
    }
  }

  napi_env env_;
  EngineListener* listener_;
  int fd_;
  bool owns_fd_;
  uv_poll_t poll_{};
  bool poll_ready_ = false;
  napi_async_cleanup_hook_handle teardown_hook_ = nullptr;

  bool closed_ = false;
  bool listening_ = false;
  bool connecting_ = false;
  bool reading_ = false;
  bool writing_ = false;
  int armed_ = 0;

  char* read_buffer_ = nullptr;
  size_t read_length_ = 0;

  std::vector<iovec> pending_;
  size_t next_ = 0;

  std::vector<SocketOption> accept_options_;
};

}  // namespace

Engine* Engine::Create(napi_env env, uv_loop_t* loop, EngineListener* listener, int family, int protocol,
                   OsSocket adopt, int* err) {
  int fd;
  if (adopt == kInvalidSocket) {
    fd = NewSocket(family, protocol);
    if (fd < 0) {
      *err = fd;
      return nullptr;
    }
  } else {
    fd = static_cast<int>(adopt);
    *err = CheckAdoptable(fd, family);
    if (*err != 0) return nullptr;
  }
  auto* engine = new PosixEngine(env, listener, fd, /*owns_fd=*/adopt == kInvalidSocket);
  *err = engine->Init(loop);
  if (*err != 0) {
    // A descriptor we were handed stays open: nothing was taken over.
    engine->Discard(/*close_socket=*/adopt == kInvalidSocket);
    return nullptr;
  }
  return engine;
}

Engine* Engine::CreateAccepted(napi_env env, uv_loop_t* loop, EngineListener* listener, const AcceptedSocket& accepted,
                           int* err) {
  auto* engine = new PosixEngine(env, listener, static_cast<int>(accepted.socket), /*owns_fd=*/true);
  *err = engine->Init(loop);
  if (*err != 0) {
    // The caller still owns the socket and closes it.
    engine->Discard(/*close_socket=*/false);
    return nullptr;
  }
  return engine;
}

void CloseOsSocket(OsSocket socket) { ::close(static_cast<int>(socket)); }

uint32_t TakeWindowsError() { return 0; }

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
