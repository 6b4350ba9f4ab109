#include "read_memory.h"

#include <cstring>

namespace hvsock {

ReadSpace ReadMemory::Lend(napi_env env, size_t suggested) {
  // Reuse the space while it fits this read without being more than twice
  // its size: a space much larger than the read would make every read "small"
  // and copied, or a kept chunk pin far more than its bytes.
  bool fits = data_ != nullptr && length_ >= suggested && length_ / 2 <= suggested;
  if (!fits && !Replace(env, suggested)) return ReadSpace{};
  return ReadSpace{data_, suggested};
}

// Called inside the HandleScope of SocketHandle::OnRead, where the chunk goes.
napi_value ReadMemory::Take(napi_env env, size_t nread) {
  napi_value out = nullptr;
  if (nread >= length_ / kKeepFraction) {
    // The space becomes the chunk's; clear what the read did not write (see
    // read_memory.h for why nothing before `nread` is stale).
    std::memset(data_ + nread, 0, length_ - nread);
    out = space_.Value();
    space_.Reset();
    data_ = nullptr;
    length_ = 0;
    kept_++;
  } else {
    void* copy = nullptr;
    // A zero-filled ArrayBuffer of the read's own length (V8's allocator
    // zero-fills, then the copy overwrites all of it).
    if (napi_create_arraybuffer(env, nread, &copy, &out) != napi_ok) return nullptr;
    std::memcpy(copy, data_, nread);
    copied_++;
  }
  return out;
}

bool ReadMemory::Replace(napi_env env, size_t size) {
  Napi::HandleScope scope(env);
  // A Buffer, not an ArrayBuffer: Node allocates a Buffer's memory without
  // zeroing it first. JavaScript never sees this memory until a large read
  // has overwritten its start and Take() has cleared the rest.
  napi_value buffer;
  if (napi_create_buffer(env, size, nullptr, &buffer) != napi_ok) return false;
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  napi_value array_buffer;
  size_t base = 0;
  if (napi_get_typedarray_info(env, buffer, &type, &length, &data, &array_buffer, &base) != napi_ok) return false;
  // node::Buffer::New gives a Buffer its own ArrayBuffer (no pool in C++).
  if (base != 0) return false;
  space_ = Napi::Persistent(Napi::ArrayBuffer(env, array_buffer));
  data_ = static_cast<char*>(data);
  length_ = length;
  return true;
}

}  // namespace hvsock
