// Module entry of the vfio-ts N-API addon: per-env data, error and argument helpers, constants.
// Follows Node-API's own contract (doc/api/n-api.md); see addon.h for what each file exports.
#include "addon.h"

#include <fcntl.h>

#include <poll.h>
#include <sys/eventfd.h>

#include <cmath>
#include <cstdio>
#include <cstring>

namespace vfio_native {

// Bumped whenever the binding's surface changes, so the TypeScript loader can refuse a stale build.
constexpr int32_t kAbiVersion = 2;

AddonData* addonData(napi_env env) {
  void* data = nullptr;
  napi_get_instance_data(env, &data);
  return static_cast<AddonData*>(data);
}

static napi_value plainError(napi_env env, int err, const char* syscall) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s (errno %d)", syscall, strerror(err), err);
  napi_throw_error(env, nullptr, msg);
  return nullptr;
}

napi_value throwErrno(napi_env env, int err, const char* syscall, const char* path) {
  AddonData* data = addonData(env);
  napi_value ctor;
  if (data == nullptr || data->nativeErrorCtor == nullptr ||
      napi_get_reference_value(env, data->nativeErrorCtor, &ctor) != napi_ok || ctor == nullptr) {
    return plainError(env, err, syscall);
  }
  napi_value args[3];
  napi_create_int32(env, err, &args[0]);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &args[1]);
  size_t n = 2;
  if (path != nullptr) {
    napi_create_string_utf8(env, path, NAPI_AUTO_LENGTH, &args[2]);
    n = 3;
  }
  napi_value error;
  if (napi_new_instance(env, ctor, n, args, &error) != napi_ok) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending) plainError(env, err, syscall);
    return nullptr;
  }
  napi_throw(env, error);
  return nullptr;
}

napi_value throwType(napi_env env, const char* message) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
  return nullptr;
}

napi_value throwRange(napi_env env, const char* message) {
  napi_throw_range_error(env, "ERR_OUT_OF_RANGE", message);
  return nullptr;
}

static bool typeFail(napi_env env, const char* name, const char* expected) {
  char msg[128];
  snprintf(msg, sizeof msg, "%s must be %s", name, expected);
  throwType(env, msg);
  return false;
}

bool isUndefined(napi_env env, napi_value v) {
  napi_valuetype t;
  return napi_typeof(env, v, &t) == napi_ok && t == napi_undefined;
}

bool argInt32(napi_env env, napi_value v, const char* name, int32_t* out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || !std::isfinite(d) || d != std::trunc(d) ||
      d < INT32_MIN || d > INT32_MAX) {
    return typeFail(env, name, "an int32");
  }
  *out = static_cast<int32_t>(d);
  return true;
}

bool argInt64(napi_env env, napi_value v, const char* name, int64_t* out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return typeFail(env, name, "an integer");
  if (t == napi_bigint) {
    bool lossless = false;
    if (napi_get_value_bigint_int64(env, v, out, &lossless) != napi_ok || !lossless) {
      return typeFail(env, name, "a bigint within int64");
    }
    return true;
  }
  double d;
  if (t != napi_number || napi_get_value_double(env, v, &d) != napi_ok || !std::isfinite(d) ||
      d != std::trunc(d) || std::fabs(d) > 9007199254740991.0) {
    return typeFail(env, name, "a safe integer or bigint");
  }
  *out = static_cast<int64_t>(d);
  return true;
}

bool argBool(napi_env env, napi_value v, const char* name, bool* out) {
  if (napi_get_value_bool(env, v, out) != napi_ok) return typeFail(env, name, "a boolean");
  return true;
}

bool argBytes(napi_env env, napi_value v, const char* name, uint8_t** data, size_t* len) {
  napi_typedarray_type type;
  size_t length;
  void* ptr;
  if (napi_get_typedarray_info(env, v, &type, &length, &ptr, nullptr, nullptr) != napi_ok ||
      (type != napi_uint8_array && type != napi_uint8_clamped_array && type != napi_int8_array)) {
    return typeFail(env, name, "a Uint8Array");
  }
  *data = static_cast<uint8_t*>(ptr);
  *len = length;
  return true;
}

bool argRange(napi_env env, const napi_value* argv, bool defaults, uint8_t** data, size_t* len) {
  size_t total;
  if (!argBytes(env, argv[0], "buf", data, &total)) return false;
  int64_t offset = 0;
  int64_t length;
  if (!(defaults && isUndefined(env, argv[1])) && !argInt64(env, argv[1], "offset", &offset)) return false;
  if (defaults && isUndefined(env, argv[2])) {
    length = static_cast<int64_t>(total) - offset;
  } else if (!argInt64(env, argv[2], "length", &length)) {
    return false;
  }
  if (offset < 0 || length < 0 || offset + length > static_cast<int64_t>(total)) {
    throwRange(env, "offset/length outside buf");
    return false;
  }
  *data += offset;
  *len = static_cast<size_t>(length);
  return true;
}

napi_value makeInt(napi_env env, int64_t value) {
  napi_value r;
  if (value >= INT32_MIN && value <= INT32_MAX) {
    napi_create_int32(env, static_cast<int32_t>(value), &r);
  } else {
    napi_create_int64(env, value, &r);
  }
  return r;
}

napi_value undefinedValue(napi_env env) {
  napi_value r;
  napi_get_undefined(env, &r);
  return r;
}

void defineFunction(napi_env env, napi_value exports, const char* name, napi_callback cb) {
  napi_value fn;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, nullptr, &fn);
  napi_set_named_property(env, exports, name, fn);
}

void defineConstant(napi_env env, napi_value exports, const char* name, int64_t value) {
  napi_set_named_property(env, exports, name, makeInt(env, value));
}

// init({ NativeError, maxBufferLength }): the TypeScript loader hands over the error class native
// code throws and Node's largest ArrayBuffer (mmap must stay under it, see mmap.cc).
static napi_value Init(napi_env env, napi_callback_info info) {
  VFIO_ARGS(1);
  napi_value ctor;
  napi_valuetype t;
  if (napi_get_named_property(env, argv[0], "NativeError", &ctor) != napi_ok ||
      napi_typeof(env, ctor, &t) != napi_ok || t != napi_function) {
    return throwType(env, "init() needs { NativeError: class, maxBufferLength: number }");
  }
  AddonData* data = addonData(env);
  napi_value max;
  double maxLength;
  if (napi_get_named_property(env, argv[0], "maxBufferLength", &max) != napi_ok ||
      napi_get_value_double(env, max, &maxLength) != napi_ok || !(maxLength > 0)) {
    return throwType(env, "init() needs { NativeError: class, maxBufferLength: number }");
  }
  data->maxBufferLength = maxLength;
  if (data->nativeErrorCtor != nullptr) napi_delete_reference(env, data->nativeErrorCtor);
  napi_create_reference(env, ctor, 1, &data->nativeErrorCtor);
  return undefinedValue(env);
}

// The cheapest possible native call: what the benchmark subtracts from every other figure.
static napi_value Noop(napi_env, napi_callback_info) { return nullptr; }

static void FinalizeAddonData(napi_env env, void* raw, void*) {
  auto* data = static_cast<AddonData*>(raw);
  if (data->nativeErrorCtor != nullptr) napi_delete_reference(env, data->nativeErrorCtor);
  delete data;
}

}  // namespace vfio_native

using namespace vfio_native;

NAPI_MODULE_INIT() {
  auto* data = new AddonData();
  if (napi_set_instance_data(env, data, FinalizeAddonData, nullptr) != napi_ok) {
    delete data;
    napi_throw_error(env, nullptr, "vfio_native: napi_set_instance_data failed");
    return nullptr;
  }
  defineConstant(env, exports, "ABI_VERSION", kAbiVersion);
  defineFunction(env, exports, "init", Init);
  defineFunction(env, exports, "noop", Noop);
  defineConstant(env, exports, "POLLIN", POLLIN);
  defineConstant(env, exports, "POLLPRI", POLLPRI);
  defineConstant(env, exports, "POLLOUT", POLLOUT);
  defineConstant(env, exports, "POLLERR", POLLERR);
  defineConstant(env, exports, "POLLHUP", POLLHUP);
  defineConstant(env, exports, "POLLNVAL", POLLNVAL);
  defineConstant(env, exports, "POLLRDHUP", POLLRDHUP);
  defineConstant(env, exports, "EFD_SEMAPHORE", EFD_SEMAPHORE);
  defineConstant(env, exports, "EFD_CLOEXEC", EFD_CLOEXEC);
  defineConstant(env, exports, "EFD_NONBLOCK", EFD_NONBLOCK);
  defineConstant(env, exports, "F_SEAL_SEAL", F_SEAL_SEAL);
  defineConstant(env, exports, "F_SEAL_SHRINK", F_SEAL_SHRINK);
  defineConstant(env, exports, "F_SEAL_GROW", F_SEAL_GROW);
  defineConstant(env, exports, "F_SEAL_WRITE", F_SEAL_WRITE);
  registerFdCalls(env, exports);
  registerMsgCalls(env, exports);
  registerMmap(env, exports);
  registerFdWatcher(env, exports);
  return exports;
}
