// The completion port and its thread: see completion_port.h.
#include "completion_port.h"

namespace hvsock {
namespace {

// Completions the port thread takes per wait.
constexpr ULONG kPortBatch = 64;

// The Windows error for a finished operation's NTSTATUS, as
// GetQueuedCompletionStatus would have set it; the loop thread asks Winsock
// for its own name of it.
using NtStatusToDosErrorFn = ULONG(WINAPI*)(LONG);

// Each queue gets its ops from this batch in one chain, in the order the
// port returned them. All chains are built before the first hand-over: once
// a queue has its ops, its loop thread may free them, and the engine too.
void Deliver(PortOp** ops, ULONG count) {
  PortOp* heads[kPortBatch];
  PortOp* tails[kPortBatch];
  ULONG queues = 0;
  for (ULONG i = 0; i < count; i++) {
    PortOp* op = ops[i];
    op->next = nullptr;
    ULONG q = 0;
    while (q < queues && heads[q]->queue != op->queue) q++;
    if (q == queues) {
      heads[queues] = tails[queues] = op;
      queues++;
    } else {
      tails[q]->next = op;
      tails[q] = op;
    }
  }
  for (ULONG q = 0; q < queues; q++) heads[q]->queue->Push(heads[q], tails[q]);
}

DWORD WINAPI Run(void* port) {
  auto to_dos_error = reinterpret_cast<NtStatusToDosErrorFn>(
      reinterpret_cast<void*>(GetProcAddress(GetModuleHandleW(L"ntdll.dll"), "RtlNtStatusToDosError")));
  OVERLAPPED_ENTRY entries[kPortBatch];
  PortOp* ops[kPortBatch];
  for (;;) {
    ULONG count = 0;
    if (!GetQueuedCompletionStatusEx(static_cast<HANDLE>(port), entries, kPortBatch, &count, INFINITE, FALSE)) {
      continue;
    }
    ULONG taken = 0;
    for (ULONG i = 0; i < count; i++) {
      OVERLAPPED* overlapped = entries[i].lpOverlapped;
      if (overlapped == nullptr) continue;  // only ops are ever posted
      PortOp* op = CONTAINING_RECORD(overlapped, PortOp, overlapped);
      op->bytes = entries[i].dwNumberOfBytesTransferred;
      // The operation's NTSTATUS; negative is a failure (NT_SUCCESS).
      auto status = static_cast<LONG>(overlapped->Internal);
      op->error = status >= 0 ? 0 : (to_dos_error != nullptr ? to_dos_error(status) : ERROR_GEN_FAILURE);
      ops[taken++] = op;
    }
    Deliver(ops, taken);
  }
}

HANDLE StartPort() {
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

// The port and its thread live as long as the process: environments come
// and go, the port stays.
HANDLE Port() {
  static HANDLE port = StartPort();
  return port;
}

// Whether an operation that completes at once can be handled without its
// packet: as libuv decides (libuv:src/win/tcp.c with libuv:src/win/winsock.c), only where the
// socket's provider hands out real file handles (an IFS provider: a layered
// non-IFS one may still queue the packet), and only once Windows has agreed
// to skip it. Otherwise every completion comes through the port, which is
// always correct.
bool SkipPortOnSuccess(SOCKET s) {
  WSAPROTOCOL_INFOW info{};
  int len = sizeof(info);
  if (getsockopt(s, SOL_SOCKET, SO_PROTOCOL_INFOW, reinterpret_cast<char*>(&info), &len) == SOCKET_ERROR) {
    return false;
  }
  if ((info.dwServiceFlags1 & XP1_IFS_HANDLES) == 0) return false;
  return SetFileCompletionNotificationModes(reinterpret_cast<HANDLE>(s), FILE_SKIP_COMPLETION_PORT_ON_SUCCESS |
                                                                             FILE_SKIP_SET_EVENT_ON_HANDLE) != 0;
}

}  // namespace

bool CompletionPortReady() { return Port() != nullptr; }

CompletionQueue::CompletionQueue(uv_async_t* wake) : wake_(wake) { InitializeSRWLock(&lock_); }

DWORD CompletionQueue::Join(SOCKET socket, bool try_skip) {
  if (CreateIoCompletionPort(reinterpret_cast<HANDLE>(socket), Port(), 0, 0) == nullptr) return GetLastError();
  skips_port_ = try_skip && SkipPortOnSuccess(socket);
  return 0;
}

CompletionQueue::Posted CompletionQueue::Track(PortOp* op, bool returned_ok, DWORD bytes, AtOnce at_once) {
  if (!returned_ok && WSAGetLastError() != WSA_IO_PENDING) return Posted::kFailed;
  if (returned_ok && skips_port_) {
    // No packet will come.
    op->bytes = bytes;
    if (at_once == AtOnce::kReturn) return Posted::kDone;
    FinishLater(op, 0);
    return Posted::kUnderWay;
  }
  // Pending, or done already with its packet on the way all the same.
  outstanding_++;
  return Posted::kUnderWay;
}

void CompletionQueue::FinishLater(PortOp* op, DWORD error) {
  op->error = error;
  op->resolved = true;
  op->next = nullptr;
  outstanding_++;
  Push(op, op);
}

void CompletionQueue::Push(PortOp* head, PortOp* tail) {
  AcquireSRWLockExclusive(&lock_);
  if (tail_ == nullptr) {
    head_ = head;
  } else {
    tail_->next = head;
  }
  tail_ = tail;
  uv_async_send(wake_);
  ReleaseSRWLockExclusive(&lock_);
}

PortOp* CompletionQueue::TakeAll() {
  AcquireSRWLockExclusive(&lock_);
  PortOp* op = head_;
  head_ = tail_ = nullptr;
  ReleaseSRWLockExclusive(&lock_);
  return op;
}

bool CompletionQueue::Drained() {
  if (outstanding_ > 0) return false;
  // Nothing is out, so the port thread is done with us; the lock makes sure
  // it has also left Push.
  AcquireSRWLockExclusive(&lock_);
  ReleaseSRWLockExclusive(&lock_);
  return true;
}

}  // namespace hvsock
