// Where reads land: one slab of JavaScript-owned memory per environment,
// lent front to back to whichever socket reads next. A read's bytes reach
// JavaScript as a view of the slab (no copy); a slab too full for the next
// read is replaced by a new one, and an old one lives on only as long as a
// view of it does, as a Buffer's pool does.
//
// A read smaller than kCopyBelow does not use up its space: JavaScript copies
// it into Node's own Buffer pool (cheaper than a view at that size), so the
// space is lent again, and a small chunk an application keeps never pins a
// whole slab. That bounds what one kept chunk can hold alive to the slab size
// over kCopyBelow, where Node's net, which shrinks each read's buffer, holds
// nothing extra; in exchange, bulk data is never copied.
#pragma once

#include <napi.h>

#include "engine.h"

namespace hvsock {

class ReadSlab {
 public:
  // Reads below this many bytes are copied by JavaScript (socket.ts).
  static constexpr size_t kCopyBelow = 4 * 1024;

  // Space for one read of at least `suggested` bytes, starting a new slab if
  // the current one has less left; length 0 if no memory could be had.
  ReadSpace Lend(napi_env env, size_t suggested);
  // After a read of `nread` > 0 bytes into the space last lent: the slab's
  // ArrayBuffer and where the bytes start in it. Marks them used unless the
  // read is small enough to be copied.
  napi_value Take(napi_env env, size_t nread, size_t* offset);

 private:
  bool Replace(napi_env env, size_t at_least);

  static constexpr size_t kSlabSize = 1024 * 1024;

  Napi::Reference<Napi::ArrayBuffer> slab_;
  char* data_ = nullptr;   // the slab's first byte
  size_t base_ = 0;        // its offset in the ArrayBuffer
  size_t length_ = 0;
  size_t used_ = 0;
  size_t lent_at_ = 0;
};

}  // namespace hvsock
