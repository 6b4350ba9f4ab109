#include "read_slab.h"

#include <algorithm>

namespace hvsock {

ReadSpace ReadSlab::Lend(napi_env env, size_t suggested) {
  if (length_ - used_ < suggested && !Replace(env, suggested)) return ReadSpace{};
  lent_at_ = used_;
  return ReadSpace{data_ + used_, suggested};
}

napi_value ReadSlab::Take(napi_env env, size_t nread, size_t* offset) {
  *offset = base_ + lent_at_;
  if (nread >= kCopyBelow) used_ = std::min(lent_at_ + nread, length_);
  return slab_.Value();
}

bool ReadSlab::Replace(napi_env env, size_t at_least) {
  Napi::HandleScope scope(env);
  size_t size = std::max(kSlabSize, at_least);
  // A Buffer, not an ArrayBuffer: Node allocates a Buffer's memory without
  // zeroing it first, and JavaScript only ever sees bytes a read wrote.
  napi_value buffer;
  if (napi_create_buffer(env, size, nullptr, &buffer) != napi_ok) return false;
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  napi_value array_buffer;
  size_t base = 0;
  if (napi_get_typedarray_info(env, buffer, &type, &length, &data, &array_buffer, &base) != napi_ok) return false;
  slab_ = Napi::Persistent(Napi::ArrayBuffer(env, array_buffer));
  data_ = static_cast<char*>(data);
  base_ = base;
  length_ = length;
  used_ = 0;
  return true;
}

}  // namespace hvsock
