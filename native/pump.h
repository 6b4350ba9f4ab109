// The per-platform engine behind one OS socket. The JavaScript-facing glue
// (socket_handle.cc) only talks to this interface, so a Windows IOCP engine
// can sit beside the POSIX readiness engine without touching the glue or the
// TypeScript above it.
#pragma once

#include <node_api.h>
#include <uv.h>

#include <cstddef>
#include <cstdint>

namespace hvsock {

// An OS socket as the platform knows it: an fd on POSIX, a SOCKET on Windows.
using OsSocket = intptr_t;
constexpr OsSocket kInvalidSocket = -1;

// One chunk of a gathered write. The memory belongs to a JavaScript value that
// is kept alive while the OS may read it: see Pump::HoldWriteOwner.
struct WriteChunk {
  const char* data;
  size_t length;
};

// Events a pump reports, always on the loop thread of its environment.
class PumpListener {
 public:
  virtual void OnConnect(int status) = 0;
  // status < 0 is an accept error; otherwise `accepted` is a new socket the
  // listener now owns.
  virtual void OnConnection(int status, OsSocket accepted) = 0;
  // nread > 0: bytes at the start of the read buffer; UV_EOF at end of
  // stream; other negatives are errors.
  virtual void OnRead(intptr_t nread) = 0;
  virtual void OnWriteDone(int status) = 0;
  // The environment is being torn down; the pump has closed itself and the
  // listener must forget it without calling into JavaScript.
  virtual void OnTeardown() = 0;

 protected:
  ~PumpListener() = default;
};

// Results of Write().
constexpr int kWriteDone = 0;
constexpr int kWritePending = 1;

// All methods return 0 (or a documented positive value) on success and a
// negative libuv error number on failure. None of them blocks.
class Pump {
 public:
  // Creates a pump around a new socket (`adopt == kInvalidSocket`) of the
  // given family, or around an existing one. On failure returns nullptr and
  // sets *err.
  static Pump* Create(napi_env env, uv_loop_t* loop, PumpListener* listener,
                      int family, int protocol, OsSocket adopt, int* err);

  virtual int Bind(const void* addr, size_t len) = 0;
  virtual int Listen(int backlog) = 0;
  // Begins a connect; completion is reported through OnConnect.
  virtual int Connect(const void* addr, size_t len) = 0;
  // Reads (or, on a listener, accepts) until ReadStop. The buffer is shared
  // by every socket of the environment: the listener must consume it inside
  // OnRead.
  virtual int ReadStart(char* buffer, size_t length) = 0;
  virtual int ReadStop() = 0;
  // Writes all chunks, or as much as the OS takes now and the rest later
  // (kWritePending, then OnWriteDone). One write may be pending at a time.
  virtual int Write(const WriteChunk* chunks, size_t count) = 0;
  // Called right after Write() returned kWritePending, with the JavaScript
  // value the chunks point into. Returns false (the default) when the caller
  // must keep that value alive until OnWriteDone or Close(): enough where the
  // OS stops reading the memory when the socket is closed. A pump whose OS
  // may go on reading it after Close() (overlapped I/O, until the port hands
  // the operation back) takes its own reference instead and returns true.
  virtual bool HoldWriteOwner(napi_value owner) {
    (void)owner;
    return false;
  }
  virtual int ShutdownWrite() = 0;
  virtual int GetSockName(void* addr, size_t* len) = 0;
  virtual int GetPeerName(void* addr, size_t* len) = 0;
  virtual int SetOption(int level, int name, const void* value, size_t len) = 0;
  virtual int GetOption(int level, int name, void* value, size_t* len) = 0;
  virtual void Ref() = 0;
  virtual void Unref() = 0;
  virtual OsSocket socket() const = 0;
  // Closes the OS socket now, drops the listener and frees the pump once the
  // event loop has let go of it. The pointer is invalid afterwards.
  virtual void Close() = 0;

 protected:
  virtual ~Pump() = default;
};

// Passed as the family to Create() for a socket that accept() just returned,
// which needs none of the checks an adopted descriptor gets.
constexpr int kAcceptedFamily = -1;

// Closes a socket no pump has taken over.
void CloseOsSocket(OsSocket socket);

// Platform queries that need no socket object.
int LocalCid(uint32_t* cid);
int ProbeFamily(int family, int protocol);

}  // namespace hvsock
