// Where reads land. Every chunk JavaScript receives owns its ArrayBuffer
// alone, as each of node:net's does: `chunk.buffer` is exactly that chunk's
// bytes, never another connection's bytes, never heap that was not cleared,
// and never memory a later read writes into. A host process serves VMs that
// do not trust each other, and any user code can reach `chunk.buffer`,
// transfer it (postMessage, structuredClone, transfer()) and so detach or
// free it: memory JavaScript can reach is never read into.
//
// How: each environment keeps one read space, memory no JavaScript ever
// sees. The engine reads into it (it asks right before each read and reads
// synchronously, so one space serves every socket of the loop), and each read
// is copied into an ArrayBuffer of exactly its length.
//
// Why a copy, when handing the space itself over would save one: measured on
// a bulk receiver (docs/benchmark.md, "Where the time goes"), handing over a
// fresh 64 KiB-1 MiB space per read cost a page fault per 4 KiB read (glibc
// returns the heap's freed top to the kernel, and the GC frees the chunks in
// bursts, so each new space was fresh memory): 600,000 faults and twice the
// CPU time of node:net per 2 GiB. A copy into an exact-length ArrayBuffer
// allocates what node:net allocates per read (it reads into 64 KiB and
// shrinks that with realloc, which N-API cannot do), and the copy of bytes
// already in the cache costs less than the faults did. The space itself is
// reused for every read.
#pragma once

#include <napi.h>

#include <cstdint>
#include <memory>

#include "engine.h"

namespace hvsock {

class ReadMemory {
 public:
  // Space for one read of `suggested` bytes; length 0 if no memory could be had.
  ReadSpace Lend(size_t suggested);
  // After a read of `nread` > 0 bytes into the space last lent: the chunk's
  // own ArrayBuffer, exactly `nread` bytes long; null if no memory could be had.
  napi_value Take(napi_env env, size_t nread);
  // The same for bytes read elsewhere (the Windows engine's posted reads).
  napi_value Copy(napi_env env, const char* data, size_t nread);

  // How many reads this environment handed to JavaScript (tests).
  uint64_t copied() const { return copied_; }

 private:
  // Grows to the largest read asked for (1 MiB at most on POSIX, see
  // engine_posix.cc) and stays: one per environment, never in reach of JavaScript.
  std::unique_ptr<char[]> space_;
  size_t length_ = 0;
  uint64_t copied_ = 0;
};

}  // namespace hvsock
