// The per-platform engine behind one OS socket. The JavaScript-facing glue
// (socket_handle.cc) only talks to this interface; engine_base.h holds what
// the two engines share, engine_posix.cc and engine_win.cc the rest.
//
// Threads: every Engine method and every EngineEvents call runs on the loop
// thread of the engine's environment. The one other thread is the Windows
// completion port's (win/completion_port.h).
//
// Ownership:
// - The owner. Whoever creates an engine (SocketHandle) is its owner: it
//   receives the engine's events (EngineEvents) and ends it with Close().
//   After Close() the engine reports nothing more and the pointer is invalid.
// - The socket. An engine owns the socket it opened or was created around
//   (CreateAccepted) and closes it in Close(). An adopted socket
//   (listen({ fd })) stays the caller's until Listen() has succeeded: Close()
//   before that leaves it open and as it was. An accepted connection
//   (OnConnection) is the owner's, who hands it to CreateAccepted or closes
//   it with CloseOsSocket. An adopted or accepted socket that Create or
//   CreateAccepted failed to take (nullptr) is still the caller's.
// - Read memory. Each read goes into a ReadSpace the owner lends
//   (OnAllocRead) right before the read and gets back through OnRead; only
//   one is out at a time and the engine never keeps it past OnRead. Where a
//   read must be posted before its memory can be asked for (the Windows
//   fallback), the engine reads into its own buffer and hands the bytes over
//   with OnReadFrom.
// - Write memory. Write() copies the chunk list, not the bytes: the bytes
//   belong to a JavaScript value that must live while the OS may read them.
//   The owner keeps it until OnWriteDone or Close(), unless HoldWriteOwner
//   says the engine does (Windows: until the port returns the write, even
//   after Close()).
// - Freeing. Close() closes the socket at once; the engine frees itself
//   later, once its libuv handles have closed and (Windows) the port has
//   returned every operation it posted. Environment teardown tells the owner
//   (OnTeardown), then closes the engine; the environment's cleanup hook
//   waits until the engine is freed.
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

// A connection a listening engine accepted, handed to OnConnection.
struct AcceptedSocket {
  OsSocket socket = kInvalidSocket;
  // The addresses the accept call reported (AcceptEx on Windows); the
  // accepted engine answers GetSockName and GetPeerName from them, because
  // on Hyper-V getsockname on an accepted socket returns an arbitrary service
  // GUID, not the listener's (https://github.com/microsoft/go-winio/blob/main/hvsock.go,
  // docs/hyperv-facts.md). Empty where asking the socket is right (POSIX).
  SocketAddress local;
  SocketAddress peer;
};

// A socket option a listening engine sets on every socket it accepts.
struct SocketOption {
  int level;
  int name;
  std::vector<char> value;
  // A hint the OS may refuse: failing to set it does not fail the accept.
  bool optional = false;
};

// One chunk of a gathered write (see "Write memory" above).
struct WriteChunk {
  const char* data;
  size_t length;
};

// Memory one read goes into (see "Read memory" above).
struct ReadSpace {
  char* data = nullptr;
  size_t length = 0;
};

// What an engine reports to its owner.
class EngineEvents {
 public:
  // Memory for the next read, at least `suggested` bytes; length 0 if none
  // could be had (the engine then fails the read with UV_ENOBUFS, as libuv
  // does). A read that finds nothing (EAGAIN) simply does not use it.
  virtual ReadSpace OnAllocRead(size_t suggested) = 0;
  virtual void OnConnect(int status) = 0;
  // status < 0 is an accept error (accepted is null); otherwise a new
  // connection, now the owner's.
  virtual void OnConnection(int status, AcceptedSocket* accepted) = 0;
  // nread > 0: bytes at the start of the space OnAllocRead last lent;
  // UV_EOF at end of stream; other negatives are errors.
  virtual void OnRead(intptr_t nread) = 0;
  // nread > 0 bytes at `data`, memory the engine keeps (a posted read's).
  virtual void OnReadFrom(const char* data, size_t nread) = 0;
  virtual void OnWriteDone(int status) = 0;
  // The environment is being torn down: the engine is closing itself, and
  // the owner must forget it without calling into JavaScript.
  virtual void OnTeardown() = 0;

 protected:
  ~EngineEvents() = default;
};

// Results of Write().
constexpr int kWriteDone = 0;
constexpr int kWritePending = 1;

// All methods return 0 (or a documented positive value) on success and a
// negative libuv error number on failure. None of them blocks.
class Engine {
 public:
  // Around a new socket (`adopt == kInvalidSocket`) of the given family, or
  // around an adopted one. On failure returns nullptr and sets *err.
  static Engine* Create(napi_env env, uv_loop_t* loop, EngineEvents* events, int family, int protocol,
                        OsSocket adopt, int* err);
  // Around a connection a listening engine accepted (OnConnection).
  static Engine* CreateAccepted(napi_env env, uv_loop_t* loop, EngineEvents* events,
                                const AcceptedSocket& accepted, int* err);

  virtual int Bind(const void* addr, size_t len) = 0;
  virtual int Listen(int backlog) = 0;
  // Begins a connect; completion is reported through OnConnect.
  virtual int Connect(const void* addr, size_t len) = 0;
  // Reads until ReadStop, each read into memory the owner lends. Never reads
  // synchronously: the first read comes from the event loop. After ReadStop
  // nothing more is read from the OS until ReadStart: the kernel's buffer
  // fills and the peer's writes wait (backpressure).
  virtual int ReadStart() = 0;
  virtual int ReadStop() = 0;
  // On a listening engine: accepts until AcceptStop, each connection
  // reported through OnConnection, never inside this call. An engine that
  // cannot get ready for a connection (Windows: no AcceptEx posted) reports
  // it as an accept error, once, and keeps trying. After AcceptStop
  // connections wait (in the backlog, or held by the engine) for AcceptStart.
  virtual int AcceptStart() = 0;
  virtual int AcceptStop() = 0;
  // Writes all chunks, or as much as the OS takes now and the rest later
  // (kWritePending, then OnWriteDone once all of it is sent, or at the first
  // error; never for a part). One write may be pending at a time.
  virtual int Write(const WriteChunk* chunks, size_t count) = 0;
  // Right after Write() returned kWritePending, with the JavaScript value
  // the chunks point into: true if the engine now keeps it alive itself
  // (see "Write memory" above).
  virtual bool HoldWriteOwner(napi_value owner) {
    (void)owner;
    return false;
  }
  // Options a listening engine sets on every socket it accepts from then on,
  // replacing earlier ones: on Windows on the accept socket before AcceptEx,
  // as WSL does for HVSOCKET_CONNECTED_SUSPEND (there is no earlier moment for
  // an option that shapes the connection), so accepts already posted keep
  // what they were posted with; on POSIX right after accept(). A socket that
  // refuses one is an accept error, and is closed, unless the option is
  // `optional` (a hint such as SO_RCVBUF), which is then left as it was.
  virtual int SetAcceptOptions(std::vector<SocketOption> options) = 0;
  // Half-closes after the write: UV_EBUSY while a write is pending, since a
  // shutdown then would cut off the rest of it.
  virtual int ShutdownWrite() = 0;
  virtual int GetSockName(void* addr, size_t* len) = 0;
  virtual int GetPeerName(void* addr, size_t* len) = 0;
  virtual int SetOption(int level, int name, const void* value, size_t len) = 0;
  virtual int GetOption(int level, int name, void* value, size_t* len) = 0;
  virtual void Ref() = 0;
  virtual void Unref() = 0;
  virtual OsSocket socket() const = 0;
  // See "Freeing" above.
  virtual void Close() = 0;

 protected:
  virtual ~Engine() = default;
};

// The Windows error behind the last negative status the engine produced on
// this thread (returned by an Engine call or Create, or passed to an event),
// and clears it; 0 if that status did not come from a Windows error, and
// always 0 off Windows. Like WSAGetLastError it must be read right after the
// failing call or at the start of the event: SocketHandle does, and hands it
// to JavaScript as handle.windowsError, which is how errors.ts can name
// Hyper-V's own errors that libuv cannot translate.
uint32_t TakeWindowsError();

// Closes a socket no engine has taken over.
void CloseOsSocket(OsSocket socket);

// Platform queries that need no socket object.
int LocalCid(uint32_t* cid);
int ProbeFamily(int family, int protocol);

}  // namespace hvsock
