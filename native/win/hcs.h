// Windows only: the Host Compute Service's compute-system list (hcs.cc),
// exported to JavaScript as binding.hcs. Other platforms have no such object.
#pragma once

#include <napi.h>

namespace hvsock {

void AddHcsFunctions(Napi::Env env, Napi::Object exports);

}  // namespace hvsock
