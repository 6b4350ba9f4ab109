// The process's one I/O completion port, the thread that waits on it, and
// each engine's side of it (CompletionQueue). This is the addon's only thread
// boundary: everything else runs on the loop thread of an environment.
//
// The completion contract:
// - An operation's OVERLAPPED, and every byte the kernel may read or write
//   for it, stay valid until the port has returned the operation. CancelIoEx
//   only asks for an end: until the operation is back (aborted or not), the
//   kernel may still be using it.
// - The port thread takes up to 64 completions per wait and hands each queue
//   all of its ops from that batch at once, under the queue's lock, with one
//   uv_async_send that wakes the engine's loop thread.
// - An engine counts every op that is still out (outstanding) and is not freed
//   until the count is 0 and the port thread has left its queue (Drained).
//   Track() is the one place an op that was just posted is counted.
#pragma once

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <winsock2.h>
#include <windows.h>

#include <uv.h>

namespace hvsock {

class CompletionQueue;

// One overlapped operation as the port sees it; the engine's ops extend it.
struct PortOp {
  explicit PortOp(CompletionQueue* q) : queue(q) {}
  // Before each use of a reused op.
  void Reset() {
    overlapped = OVERLAPPED{};
    bytes = 0;
    error = 0;
    resolved = false;
  }
  OVERLAPPED overlapped{};
  CompletionQueue* queue;
  PortOp* next = nullptr;
  // Filled in by the port thread, or by the loop thread for an op finished
  // without the port (FinishLater, or completed at once: see Track).
  DWORD bytes = 0;
  DWORD error = 0;
  // `error` is already a Winsock error: the op was finished by us, not
  // returned by the port (which reports the generic Windows error).
  bool resolved = false;
};

// Whether the port's thread is running (it starts on first use).
bool CompletionPortReady();

class CompletionQueue {
 public:
  // `wake` is the engine's uv_async_t, initialised before any op is posted.
  explicit CompletionQueue(uv_async_t* wake);

  // Routes `socket`'s completions to the port, for good: a handle never
  // leaves a port, and one already on another port is refused
  // (ERROR_INVALID_PARAMETER). With `try_skip`, an operation that completes
  // at once skips the port where that is safe (see the .cc). Returns 0 or a
  // Windows error.
  DWORD Join(SOCKET socket, bool try_skip);

  // What became of an overlapped call just made on the joined socket.
  enum class Posted {
    kUnderWay,  // its completion will reach Drain: through the port, or queued here
    kDone,      // completed at once with no packet to come (AtOnce::kReturn only)
    kFailed,    // never posted: WSAGetLastError() says why
  };
  // For an op that completed at once and skips the port: queue it for the
  // loop (as if the port had returned it) or return kDone to the caller, who
  // finishes it there and then (a write that all went at once).
  enum class AtOnce { kQueue, kReturn };
  // Call right after the overlapped call: `returned_ok` is whether it
  // succeeded at once, `bytes` what it reported moving then.
  Posted Track(PortOp* op, bool returned_ok, DWORD bytes, AtOnce at_once);

  // Loop thread: an op finished without the port (an error found while
  // posting it, data held while reading was stopped) goes the same way as a
  // completion, so events never fire inside a JavaScript call.
  void FinishLater(PortOp* op, DWORD error);

  // Port thread (a batch's chain for this queue) or FinishLater: appends and
  // wakes the loop. The wake-up happens under the lock, which Drained takes
  // too, so the engine can never be freed while the port thread is here.
  void Push(PortOp* head, PortOp* tail);

  // Loop thread: hands every op queued so far to `dispatch`, oldest first.
  // An op stops counting as outstanding just before `dispatch` sees it, so
  // the ops after it keep the engine alive even if `dispatch` closes it.
  template <typename Dispatch>
  void Drain(Dispatch&& dispatch) {
    PortOp* op = TakeAll();
    while (op != nullptr) {
      PortOp* next = op->next;
      outstanding_--;
      dispatch(op);
      op = next;
    }
  }

  // Whether an op is still out.
  bool HasOutstanding() const { return outstanding_ > 0; }
  // Loop thread: nothing is out and the port thread has left Push.
  bool Drained();

 private:
  PortOp* TakeAll();

  uv_async_t* wake_;
  SRWLOCK lock_;
  PortOp* head_ = nullptr;
  PortOp* tail_ = nullptr;
  // Loop thread only.
  int outstanding_ = 0;
  bool skips_port_ = false;
};

}  // namespace hvsock
