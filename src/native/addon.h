// Shared helpers of the vfio-ts N-API addon: argument parsing, NativeError throwing, per-env data.
// Uses only Node-API (node_api.h, ABI-stable) plus libuv from Node's headers for FdWatcher.
#pragma once

#include <node_api.h>

#include <cstddef>
#include <cstdint>

namespace vfio_native {

// Per-environment state (one per main thread / worker that loads the addon).
struct AddonData {
  napi_ref nativeErrorCtor = nullptr;  // set by init({ NativeError })
  double maxBufferLength = 4294967296.0;  // buffer.constants.MAX_LENGTH, from init()
};

AddonData* addonData(napi_env env);

// Throws `new NativeError(err, syscall, path?)` (errno positive). Always returns nullptr so a
// callback can `return throwErrno(...)`.
napi_value throwErrno(napi_env env, int err, const char* syscall, const char* path = nullptr);
napi_value throwType(napi_env env, const char* message);
napi_value throwRange(napi_env env, const char* message);

// Argument readers: on a wrong type they throw a TypeError and return false.
bool argInt32(napi_env env, napi_value v, const char* name, int32_t* out);
bool argInt64(napi_env env, napi_value v, const char* name, int64_t* out);  // number or bigint
bool argBool(napi_env env, napi_value v, const char* name, bool* out);
bool argBytes(napi_env env, napi_value v, const char* name, uint8_t** data, size_t* len);
// argv[0] a Uint8Array buf, argv[1] an offset and argv[2] a length in it; data and len get the
// range. With `defaults`, a missing offset is 0 and a missing length runs to the end of buf.
// Throws (TypeError, or RangeError for a range outside buf) and returns false.
bool argRange(napi_env env, const napi_value* argv, bool defaults, uint8_t** data, size_t* len);
bool isUndefined(napi_env env, napi_value v);

napi_value makeInt(napi_env env, int64_t value);  // a JS number (exact up to 2^53)
napi_value undefinedValue(napi_env env);

void defineFunction(napi_env env, napi_value exports, const char* name, napi_callback cb);
void defineConstant(napi_env env, napi_value exports, const char* name, int64_t value);

// Each file registers its exports.
void registerFdCalls(napi_env env, napi_value exports);
void registerMsgCalls(napi_env env, napi_value exports);
void registerMmap(napi_env env, napi_value exports);
void registerFdWatcher(napi_env env, napi_value exports);

}  // namespace vfio_native

// Reads up to N call arguments into argv (missing ones are undefined).
#define VFIO_ARGS(N)                                                                  \
  size_t argc = (N);                                                                  \
  napi_value argv[(N) > 0 ? (N) : 1];                                                 \
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr
