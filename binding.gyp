{
  "targets": [
    {
      "target_name": "hvsock",
      "sources": ["native/addon.cc", "native/socket_handle.cc", "native/read_memory.cc", "native/engine_base.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-fvisibility=hidden", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [
        ["OS!='win'", { "sources": ["native/engine_posix.cc"] }],
        ["OS=='win'", {
          "sources": [
            "native/engine_win.cc",
            "native/win/completion_port.cc",
            "native/win/socket_calls.cc",
            "native/win/registry.cc",
            "native/win/hcs.cc"
          ],
          "defines": ["WIN32_LEAN_AND_MEAN", "NOMINMAX", "_WIN32_WINNT=0x0601"],
          "libraries": ["ws2_32.lib", "advapi32.lib"],
          "msvs_settings": {
            "VCCLCompilerTool": { "AdditionalOptions": ["/std:c++17"] }
          }
        }]
      ],
      "xcode_settings": {
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "GCC_SYMBOLS_PRIVATE_EXTERN": "YES"
      }
    }
  ]
}
