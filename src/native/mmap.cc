// mmap(MAP_SHARED) of an fd exposed as an external ArrayBuffer, with explicit and GC unmapping.
// Follows mmap(2)/munmap(2) and Node-API's napi_create_external_arraybuffer/napi_detach_arraybuffer.
#include "addon.h"

#include <sys/mman.h>

#include <cerrno>
#include <mutex>
#include <unordered_map>

namespace vfio_native {

namespace {

// One per mmap() call. Freed only by the ArrayBuffer's finalizer, which Node runs exactly once;
// `unmapped` makes an explicit munmap() and that finalizer agree on who unmaps.
struct Mapping {
  void* addr;
  size_t len;
  bool unmapped;
};

// Live (not yet unmapped) mappings by address, process-wide because addresses are: munmap(ab)
// uses it to tell our buffers from foreign ones. Workers each run their own finalizers.
std::mutex liveLock;
std::unordered_map<void*, Mapping*> live;

// Unmaps once; callers hold liveLock.
void unmapLocked(Mapping* m) {
  if (m->unmapped) return;
  auto it = live.find(m->addr);
  if (it != live.end() && it->second == m) live.erase(it);
  ::munmap(m->addr, m->len);
  m->unmapped = true;
}

// Runs when the ArrayBuffer is collected (or detached by munmap, or the env is torn down).
void FinalizeMapping(napi_env, void*, void* hint) {
  auto* m = static_cast<Mapping*>(hint);
  {
    std::lock_guard<std::mutex> g(liveLock);
    unmapLocked(m);
  }
  delete m;
}

napi_value Mmap(napi_env env, napi_callback_info info) {
  VFIO_ARGS(4);
  int32_t fd;
  int64_t offset;
  int64_t length;
  bool writable;
  if (!argInt32(env, argv[0], "fd", &fd) || !argInt64(env, argv[1], "offset", &offset) ||
      !argInt64(env, argv[2], "length", &length) || !argBool(env, argv[3], "writable", &writable)) {
    return nullptr;
  }
  if (offset < 0 || length <= 0) return throwErrno(env, EINVAL, "mmap");
  // Checked here because Node calls the finalizer itself when it refuses an over-long external
  // buffer, which would leave the failure path below unsure who owns the Mapping.
  if (static_cast<double>(length) > addonData(env)->maxBufferLength) {
    return throwRange(env, "mmap length exceeds the largest ArrayBuffer (buffer.constants.MAX_LENGTH)");
  }
  int prot = PROT_READ | (writable ? PROT_WRITE : 0);
  void* addr = ::mmap(nullptr, static_cast<size_t>(length), prot, MAP_SHARED, fd, offset);
  if (addr == MAP_FAILED) return throwErrno(env, errno, "mmap");
  auto* m = new Mapping{addr, static_cast<size_t>(length), false};
  {
    std::lock_guard<std::mutex> g(liveLock);
    live[addr] = m;
  }
  napi_value ab;
  if (napi_create_external_arraybuffer(env, addr, m->len, FinalizeMapping, m, &ab) != napi_ok) {
    // Not expected after the length check. Node may or may not have run (or queued) the finalizer
    // on failure, so the Mapping is left to it: a possible leak beats a double unmap or free.
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    return pending ? nullptr : throwErrno(env, ENOMEM, "mmap");
  }
  return ab;
}

// munmap(ab): detaches the buffer (byteLength becomes 0, so JS cannot touch the unmapped pages)
// and unmaps. A second call, or a call on a buffer the GC already finalized, is a no-op.
napi_value Munmap(napi_env env, napi_callback_info info) {
  VFIO_ARGS(1);
  void* data = nullptr;
  size_t len = 0;
  bool isAb = false;
  if (napi_is_arraybuffer(env, argv[0], &isAb) != napi_ok || !isAb ||
      napi_get_arraybuffer_info(env, argv[0], &data, &len) != napi_ok) {
    return throwType(env, "munmap needs an ArrayBuffer from mmap()");
  }
  if (data == nullptr || len == 0) return undefinedValue(env);  // already detached
  {
    std::lock_guard<std::mutex> g(liveLock);
    auto it = live.find(data);
    if (it == live.end() || it->second->len != len) {
      return throwType(env, "munmap needs an ArrayBuffer from mmap()");
    }
  }
  // Detach first, outside the lock (detaching may run the finalizer): if it fails nothing is
  // unmapped and the buffer stays usable.
  if (napi_detach_arraybuffer(env, argv[0]) != napi_ok) return throwErrno(env, EINVAL, "munmap");
  std::lock_guard<std::mutex> g(liveLock);
  auto it = live.find(data);
  // Still live unless the finalizer already ran; the Mapping is freed by FinalizeMapping only.
  if (it != live.end()) unmapLocked(it->second);
  return undefinedValue(env);
}

}  // namespace

void registerMmap(napi_env env, napi_value exports) {
  defineFunction(env, exports, "mmap", Mmap);
  defineFunction(env, exports, "munmap", Munmap);
}

}  // namespace vfio_native
