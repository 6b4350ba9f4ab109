// The per-platform engine behind one OS socket. The JavaScript-facing glue
// (socket_handle.cc) only talks to this interface, so a Windows IOCP engine
// can sit beside the POSIX readiness engine without touching the glue or the
// TypeScript above it. What the two engines share is engine_base.h; each
// adds its own in engine_posix.cc or engine_win.cc.
#pragma once

#include <node_api.h>
#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace hvsock {

// An OS socket as the platform knows it: an fd on POSIX, a SOCKET on Windows.
using OsSocket = intptr_t;
constexpr OsSocket kInvalidSocket = -1;

// A socket address as the OS wrote it (sockaddr_in, SOCKADDR_HV, sockaddr_vm).
struct SocketAddress {
  char bytes[128];  // sizeof(SOCKADDR_STORAGE) / sizeof(sockaddr_storage)
  size_t length = 0;  // 0: not known
};

// A connection a listener's engine accepted, handed to OnConnection.
struct AcceptedSocket {
  OsSocket socket = kInvalidSocket;
  // The addresses the accept call itself reported, where it reports them
  // (AcceptEx on Windows). The accepted socket's engine answers GetSockName and
  // GetPeerName from these: on Hyper-V, getsockname on an accepted socket
  // returns an arbitrary service GUID, not the listener's (HYPERV-FACTS.md).
  // Empty where asking the socket is right (POSIX: vsock's getsockname is).
  SocketAddress local;
  SocketAddress peer;
};

// A socket option a listener sets on every socket it accepts.
struct SocketOption {
  int level;
  int name;
  std::vector<char> value;
};

// One chunk of a gathered write. The memory belongs to a JavaScript value that
// is kept alive while the OS may read it: see Engine::HoldWriteOwner.
struct WriteChunk {
  const char* data;
  size_t length;
};

// Memory one read goes into, lent by the listener (EngineListener::OnAllocRead).
struct ReadSpace {
  char* data = nullptr;
  size_t length = 0;
};

// Events an engine reports, always on the loop thread of its environment.
class EngineListener {
 public:
  // Memory for the next read, at least `suggested` bytes (length 0: none
  // could be had; the engine then fails the read with UV_ENOBUFS, as libuv
  // does). The engine asks right before it reads, never while another
  // read's space is still out, and reports what it read into it through
  // OnRead; a read that finds nothing (EAGAIN) simply does not use it. This
  // is how a read lands in memory JavaScript owns, with no copy after it.
  virtual ReadSpace OnAllocRead(size_t suggested) = 0;
  virtual void OnConnect(int status) = 0;
  // status < 0 is an accept error (accepted is null); otherwise `accepted`
  // is a new connection the listener now owns: it hands it to
  // Engine::CreateAccepted, or closes accepted->socket with CloseOsSocket.
  virtual void OnConnection(int status, AcceptedSocket* accepted) = 0;
  // nread > 0: bytes at the start of the space OnAllocRead last lent;
  // UV_EOF at end of stream; other negatives are errors.
  virtual void OnRead(intptr_t nread) = 0;
  virtual void OnWriteDone(int status) = 0;
  // The environment is being torn down; the engine has closed itself and the
  // listener must forget it without calling into JavaScript.
  virtual void OnTeardown() = 0;

 protected:
  ~EngineListener() = default;
};

// Results of Write().
constexpr int kWriteDone = 0;
constexpr int kWritePending = 1;

// All methods return 0 (or a documented positive value) on success and a
// negative libuv error number on failure. None of them blocks.
class Engine {
 public:
  // Creates an engine around a new socket (`adopt == kInvalidSocket`) of the
  // given family, or around an existing one. On failure returns nullptr and
  // sets *err.
  // An adopted socket (listen({ fd })) is the caller's until Listen() has
  // succeeded: Close() before that leaves it open, and every step that can
  // fail comes before any change that cannot be undone.
  static Engine* Create(napi_env env, uv_loop_t* loop, EngineListener* listener,
                      int family, int protocol, OsSocket adopt, int* err);
  // Around a connection a listener's engine accepted (OnConnection). On failure
  // returns nullptr and sets *err; the socket is then still the caller's.
  static Engine* CreateAccepted(napi_env env, uv_loop_t* loop, EngineListener* listener,
                              const AcceptedSocket& accepted, int* err);

  virtual int Bind(const void* addr, size_t len) = 0;
  virtual int Listen(int backlog) = 0;
  // Begins a connect; completion is reported through OnConnect.
  virtual int Connect(const void* addr, size_t len) = 0;
  // Reads (or, on a listener, accepts) until ReadStop, each read into
  // memory the listener lends (OnAllocRead). Never reads synchronously: the
  // first read comes from the event loop. A listener that cannot get ready
  // for a connection (Windows: no AcceptEx posted) reports it as an accept
  // error through OnConnection, once, and keeps trying; it does not go deaf.
  virtual int ReadStart() = 0;
  // After ReadStop nothing more is read from the OS until ReadStart: the
  // kernel's buffer fills and the peer's writes wait (backpressure).
  virtual int ReadStop() = 0;
  // Writes all chunks, or as much as the OS takes now and the rest later
  // (kWritePending, then OnWriteDone once all of it is sent, or at the first
  // error; never for a part). One write may be pending at a time.
  virtual int Write(const WriteChunk* chunks, size_t count) = 0;
  // Called right after Write() returned kWritePending, with the JavaScript
  // value the chunks point into. Returns false (the default) when the caller
  // must keep that value alive until OnWriteDone or Close(): enough where the
  // OS stops reading the memory when the socket is closed. An engine whose OS
  // may go on reading it after Close() (overlapped I/O, until the port hands
  // the operation back) takes its own reference instead and returns true.
  virtual bool HoldWriteOwner(napi_value owner) {
    (void)owner;
    return false;
  }
  // Options a listener sets on every socket it accepts, replacing earlier
  // ones: on Windows on the accept socket before AcceptEx, as WSL does for
  // HVSOCKET_CONNECTED_SUSPEND (there is no earlier moment for an option that
  // shapes the connection); on POSIX right after accept(). A socket that
  // refuses one is an accept error, and is closed. They apply to accept
  // sockets made from then on: on Windows, accepts already posted keep what
  // they were posted with (Server sets them before it starts accepting).
  virtual int SetAcceptOptions(std::vector<SocketOption> options) = 0;
  // Half-closes after the write: UV_EBUSY while a write is pending, since a
  // shutdown then would cut off the rest of it (the stream layer calls this
  // only once every write has completed).
  virtual int ShutdownWrite() = 0;
  virtual int GetSockName(void* addr, size_t* len) = 0;
  virtual int GetPeerName(void* addr, size_t* len) = 0;
  virtual int SetOption(int level, int name, const void* value, size_t len) = 0;
  virtual int GetOption(int level, int name, void* value, size_t* len) = 0;
  virtual void Ref() = 0;
  virtual void Unref() = 0;
  virtual OsSocket socket() const = 0;
  // Closes the OS socket now, drops the listener and frees the engine once the
  // event loop has let go of it. The pointer is invalid afterwards.
  virtual void Close() = 0;

 protected:
  virtual ~Engine() = default;
};

// The Windows error behind the last negative status the engine produced on
// this thread (returned by a Engine call or Create, or passed to a listener
// event), and clears it; 0 if that status did not come from a Windows error,
// and always 0 off Windows. Like WSAGetLastError, it is per thread and must be
// read right after the failing call or at the start of the event, before
// anything else calls the engine: SocketHandle does, and hands it to
// JavaScript beside the libuv status (handle.windowsError), which is how
// errors.ts can name Hyper-V's own errors that libuv cannot translate and
// always show the original number.
uint32_t TakeWindowsError();

// Closes a socket no engine has taken over.
void CloseOsSocket(OsSocket socket);

// Platform queries that need no socket object.
int LocalCid(uint32_t* cid);
int ProbeFamily(int family, int protocol);

}  // namespace hvsock
