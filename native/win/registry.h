// Windows only: the Hyper-V service registry (registry.cc), exported to
// JavaScript as binding.registry. Other platforms have no such object.
#pragma once

#include <napi.h>

namespace hvsock {

void AddRegistryFunctions(Napi::Env env, Napi::Object exports);

}  // namespace hvsock
