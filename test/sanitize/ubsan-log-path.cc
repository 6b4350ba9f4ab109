// Linked into the sanitizer build only (test/sanitize/build.mjs), never into
// the package. GCC's libasan and libubsan each keep their own report file,
// set at start-up through the exported __sanitizer_set_report_path; with
// libasan first in the lookup order (LD_PRELOAD), libubsan's call binds to
// libasan's copy, so UBSAN_OPTIONS=log_path never reaches UBSan and its
// reports go to stderr, where a child process whose stderr a test captures
// would hide them. This hands log_path to libubsan's own copy when the addon
// loads (libubsan, a dependency, has started by then).
#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <string>

extern "C" void __ubsan_handle_add_overflow_abort(void*, void*, void*);

__attribute__((constructor)) static void HandLogPathToUbsan() {
  const char* options = std::getenv("UBSAN_OPTIONS");
  const char* at = options == nullptr ? nullptr : std::strstr(options, "log_path=");
  if (at == nullptr) return;
  at += std::strlen("log_path=");
  std::string path(at, std::strcspn(at, ": ,\t\n"));
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&__ubsan_handle_add_overflow_abort), &info) == 0) return;
  // A handle's lookup starts in that library itself: libubsan's own copy.
  void* ubsan = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
  if (ubsan == nullptr) return;
  auto set_report_path = reinterpret_cast<void (*)(const char*)>(dlsym(ubsan, "__sanitizer_set_report_path"));
  if (set_report_path != nullptr) set_report_path(path.c_str());
  dlclose(ubsan);
}
