// Where reads land. Every chunk JavaScript receives owns its ArrayBuffer
// alone, as each of node:net's does: `chunk.buffer` holds that chunk's bytes
// and zeros, never another connection's bytes, never heap that was not
// cleared, and never memory a later read writes into. A host process serves
// VMs that do not trust each other, and any user code can reach
// `chunk.buffer`, transfer it (postMessage, structuredClone, transfer()) and
// so detach or free it: memory JavaScript can reach is never read into again.
//
// How, without copying bulk data: each environment keeps one read space, an
// ArrayBuffer no JavaScript ever sees. The engine reads into it (it asks right
// before each read and reads synchronously, so one space serves every socket
// of the loop). Then:
//   - a large read (at least a quarter of the space) keeps the space: the
//     ArrayBuffer becomes the chunk's, its unused tail is zeroed, and the next
//     read gets a new space. No copy; a chunk pins at most 4x its length,
//     where node:net, which shrinks each read's buffer with realloc, pins
//     none (N-API cannot shrink an ArrayBuffer).
//   - a smaller read is copied into an ArrayBuffer of exactly its length, and
//     the space is read into again.
// A space that is handed over holds nothing stale: it was read into only by
// small reads (each shorter than a quarter of it) since it was made, and the
// large read that hands it over overwrites at least that much from the start.
#pragma once

#include <napi.h>

#include <cstdint>

#include "engine.h"

namespace hvsock {

class ReadMemory {
 public:
  // A read of at least 1/kKeepFraction of the space keeps it.
  static constexpr size_t kKeepFraction = 4;

  // Space for one read of `suggested` bytes; length 0 if no memory could be had.
  ReadSpace Lend(napi_env env, size_t suggested);
  // After a read of `nread` > 0 bytes into the space last lent: the chunk's
  // own ArrayBuffer, whose bytes [0, nread) are the read's.
  napi_value Take(napi_env env, size_t nread);

  // How reads were handed out in this environment (tests and benchmarks).
  uint64_t kept() const { return kept_; }
  uint64_t copied() const { return copied_; }

 private:
  bool Replace(napi_env env, size_t size);

  Napi::Reference<Napi::ArrayBuffer> space_;
  char* data_ = nullptr;
  size_t length_ = 0;
  uint64_t kept_ = 0;
  uint64_t copied_ = 0;
};

}  // namespace hvsock
