#include "read_memory.h"

#include <cstring>
#include <new>

namespace hvsock {

ReadSpace ReadMemory::Lend(size_t suggested) {
  if (length_ < suggested) {
    // Replaced, not grown in place: nothing in the old space is wanted.
    space_.reset(new (std::nothrow) char[suggested]);
    length_ = space_ ? suggested : 0;
    if (!space_) return ReadSpace{};
  }
  return ReadSpace{space_.get(), suggested};
}

// Called inside the HandleScope of SocketHandle::OnRead, where the chunk goes.
napi_value ReadMemory::Take(napi_env env, size_t nread) {
  if (nread > length_) return nullptr;
  return Copy(env, space_.get(), nread);
}

napi_value ReadMemory::Copy(napi_env env, const char* data, size_t nread) {
  napi_value out = nullptr;
  void* copy = nullptr;
  // V8's allocator zero-fills, then the copy overwrites all of it: no byte of
  // the ArrayBuffer is uncleared heap even if the copy were short.
  if (napi_create_arraybuffer(env, nread, &copy, &out) != napi_ok) return nullptr;
  std::memcpy(copy, data, nread);
  copied_++;
  return out;
}

}  // namespace hvsock
