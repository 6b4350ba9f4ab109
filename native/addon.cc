// Module entry: one SocketHandle class, the environment's read memory (see
// read_memory.h), and the few platform queries that need no socket.
#include <napi.h>

#include "engine.h"
#ifdef _WIN32
#include "win/hcs.h"
#include "win/registry.h"
#endif
#include "socket_handle.h"

namespace hvsock {
namespace {

Napi::Value LocalCidJs(const Napi::CallbackInfo& info) {
  uint32_t cid = 0;
  int err = LocalCid(&cid);
  return Napi::Number::New(info.Env(), err != 0 ? static_cast<double>(err) : static_cast<double>(cid));
}

Napi::Value ProbeJs(const Napi::CallbackInfo& info) {
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) {
    return Napi::Number::New(info.Env(), UV_EINVAL);
  }
  return Napi::Number::New(info.Env(), ProbeFamily(info[0].As<Napi::Number>().Int32Value(),
                                                   info[1].As<Napi::Number>().Int32Value()));
}

// { copied }: how many reads this environment handed to JavaScript, each
// copied into an ArrayBuffer of its own (read_memory.h).
Napi::Value ReadMemoryStatsJs(const Napi::CallbackInfo& info) {
  const ReadMemory& memory = info.Env().GetInstanceData<AddonData>()->read_memory;
  Napi::Object stats = Napi::Object::New(info.Env());
  stats.Set("copied", Napi::Number::New(info.Env(), static_cast<double>(memory.copied())));
  return stats;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  Napi::Function handle = SocketHandle::Define(env);
  data->handle_constructor = Napi::Persistent(handle);
  env.SetInstanceData<AddonData>(data);

  exports.Set("SocketHandle", handle);
  exports.Set("readMemoryStats", Napi::Function::New<ReadMemoryStatsJs>(env, "readMemoryStats"));
  exports.Set("localCid", Napi::Function::New<LocalCidJs>(env, "localCid"));
  exports.Set("probe", Napi::Function::New<ProbeJs>(env, "probe"));
  exports.Set("UV_EOF", Napi::Number::New(env, UV_EOF));
#ifdef _WIN32
  AddRegistryFunctions(env, exports);
  AddHcsFunctions(env, exports);
  exports.Set("platform", Napi::String::New(env, "win32"));
#else
  exports.Set("platform", Napi::String::New(env, "posix"));
#endif
  return exports;
}

}  // namespace
}  // namespace hvsock

static Napi::Object InitHvsock(Napi::Env env, Napi::Object exports) { return hvsock::Init(env, exports); }

NODE_API_MODULE(hvsock, InitHvsock)
