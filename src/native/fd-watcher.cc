// FdWatcher: readiness callbacks for one fd on Node's own event loop, built on libuv's uv_poll_t.
// Follows libuv's uv_poll_t contract (docs/src/poll.rst) and Node-API's napi_make_callback and
// napi_add_async_cleanup_hook (so a worker that exits with a watcher open shuts down cleanly).
#include "addon.h"

#include <poll.h>
#include <uv.h>

#include <cerrno>

namespace vfio_native {

namespace {

// Lifetime: the struct lives until all three of these happened, in any order: the JS object was
// finalized, libuv's close callback ran, and the cleanup hook was removed (done by that close
// callback). `closed` is set by close(), by the finalizer, or by env teardown, whichever is first.
struct Watcher {
  napi_env env;
  uv_poll_t handle;
  napi_ref self = nullptr;      // weak, strong while started: an active watcher is not collected
  napi_ref callback = nullptr;  // dropped at close, so no callback can fire afterwards
  napi_async_context async = nullptr;
  napi_async_cleanup_hook_handle hook = nullptr;
  bool started = false;
  bool closed = false;
  bool tearingDown = false;  // env teardown: make no more JS-facing Node-API calls
  bool handleClosed = false;
  bool finalized = false;
};

void maybeDelete(Watcher* w) {
  if (w->finalized && w->handleClosed) delete w;
}

void setStarted(Watcher* w, bool on) {
  if (w->started == on) return;
  w->started = on;
  if (w->tearingDown || w->self == nullptr) return;
  uint32_t count;
  if (on) {
    napi_reference_ref(w->env, w->self, &count);
  } else {
    napi_reference_unref(w->env, w->self, &count);
  }
}

void OnClose(uv_handle_t* handle) {
  auto* w = static_cast<Watcher*>(handle->data);
  w->handleClosed = true;
  if (w->hook != nullptr) {
    napi_remove_async_cleanup_hook(w->hook);  // balances the add in the constructor
    w->hook = nullptr;
  }
  maybeDelete(w);
}

// Drops the JS references (not during teardown) and starts closing the uv handle. Idempotent.
void closeWatcher(Watcher* w) {
  if (w->closed) return;
  w->closed = true;
  uv_poll_stop(&w->handle);
  setStarted(w, false);
  if (!w->tearingDown) {
    if (w->callback != nullptr) napi_delete_reference(w->env, w->callback);
    if (w->async != nullptr) napi_async_destroy(w->env, w->async);
  }
  w->callback = nullptr;
  w->async = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(&w->handle), OnClose);
}

void OnTeardown(napi_async_cleanup_hook_handle, void* arg) {
  auto* w = static_cast<Watcher*>(arg);
  w->tearingDown = true;
  closeWatcher(w);  // OnClose removes the hook, which lets the env finish tearing down
}

void FinalizeWatcher(napi_env env, void* data, void*) {
  auto* w = static_cast<Watcher*>(data);
  closeWatcher(w);
  if (!w->tearingDown && w->self != nullptr) napi_delete_reference(env, w->self);
  w->self = nullptr;
  w->finalized = true;
  maybeDelete(w);
}

int toUvEvents(int32_t events) {
  return ((events & POLLIN) ? UV_READABLE : 0) | ((events & POLLOUT) ? UV_WRITABLE : 0) |
         ((events & POLLRDHUP) ? UV_DISCONNECT : 0) | ((events & POLLPRI) ? UV_PRIORITIZED : 0);
}

int32_t fromUvEvents(int events) {
  return ((events & UV_READABLE) ? POLLIN : 0) | ((events & UV_WRITABLE) ? POLLOUT : 0) |
         ((events & UV_DISCONNECT) ? POLLRDHUP : 0) | ((events & UV_PRIORITIZED) ? POLLPRI : 0);
}

// libuv calls this with status < 0 (e.g. UV_EBADF on POLLERR) after stopping the handle itself.
void OnPoll(uv_poll_t* handle, int status, int events) {
  auto* w = static_cast<Watcher*>(handle->data);
  if (w->closed || w->tearingDown || w->callback == nullptr) return;
  napi_env env = w->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb = nullptr;
  napi_value recv = nullptr;
  napi_get_reference_value(env, w->callback, &cb);
  if (w->self != nullptr) napi_get_reference_value(env, w->self, &recv);
  if (recv == nullptr) napi_get_global(env, &recv);
  if (status < 0) setStarted(w, false);
  napi_value args[2];
  napi_create_int32(env, status < 0 ? 0 : fromUvEvents(events), &args[0]);
  napi_create_int32(env, status < 0 ? status : 0, &args[1]);
  napi_value result;
  // The callback may close this watcher: w stays valid until OnClose, a later loop phase.
  if (cb != nullptr && napi_make_callback(env, w->async, recv, cb, 2, args, &result) != napi_ok) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) {
      napi_value error;
      napi_get_and_clear_last_exception(env, &error);
      napi_fatal_exception(env, error);  // surfaces as 'uncaughtException', like any callback
    }
  }
  napi_close_handle_scope(env, scope);
}

Watcher* unwrap(napi_env env, napi_callback_info info, size_t* argc, napi_value* argv, napi_value* self) {
  napi_value thisArg;
  if (napi_get_cb_info(env, info, argc, argv, &thisArg, nullptr) != napi_ok) return nullptr;
  void* data = nullptr;
  if (napi_unwrap(env, thisArg, &data) != napi_ok || data == nullptr) {
    throwType(env, "not an FdWatcher");
    return nullptr;
  }
  if (self != nullptr) *self = thisArg;
  return static_cast<Watcher*>(data);
}

napi_value Construct(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_value thisArg;
  napi_value newTarget;
  if (napi_get_cb_info(env, info, &argc, argv, &thisArg, nullptr) != napi_ok) return nullptr;
  if (napi_get_new_target(env, info, &newTarget) != napi_ok || newTarget == nullptr) {
    return throwType(env, "FdWatcher must be called with new");
  }
  int32_t fd;
  napi_valuetype t;
  if (!argInt32(env, argv[0], "fd", &fd)) return nullptr;
  if (napi_typeof(env, argv[1], &t) != napi_ok || t != napi_function) {
    return throwType(env, "callback must be a function");
  }
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
    return throwErrno(env, ENOSYS, "napi_get_uv_event_loop");
  }
  auto* w = new Watcher();
  w->env = env;
  int r = uv_poll_init(loop, &w->handle, fd);  // note: libuv also sets O_NONBLOCK on fd
  if (r != 0) {
    delete w;
    return throwErrno(env, -r, "uv_poll_init");
  }
  w->handle.data = w;
  if (napi_wrap(env, thisArg, w, FinalizeWatcher, nullptr, nullptr) != napi_ok) {
    w->finalized = true;  // nothing will finalize it: let OnClose free it
    closeWatcher(w);
    return throwErrno(env, ENOMEM, "napi_wrap");
  }
  napi_create_reference(env, thisArg, 0, &w->self);
  napi_create_reference(env, argv[1], 1, &w->callback);
  napi_value name;
  napi_create_string_utf8(env, "FdWatcher", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, nullptr, name, &w->async);
  napi_add_async_cleanup_hook(env, OnTeardown, w, &w->hook);
  return thisArg;
}

// start(events): watch for POLLIN/POLLOUT (and POLLRDHUP/POLLPRI); callable again to change
// interest. Events 0 is stop().
napi_value Start(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  Watcher* w = unwrap(env, info, &argc, argv, nullptr);
  if (w == nullptr) return nullptr;
  int32_t events;
  if (!argInt32(env, argv[0], "events", &events)) return nullptr;
  if (w->closed) return throwErrno(env, EBADF, "FdWatcher.start");
  int uvEvents = toUvEvents(events);
  if (uvEvents == 0) {
    uv_poll_stop(&w->handle);
    setStarted(w, false);
    return undefinedValue(env);
  }
  int r = uv_poll_start(&w->handle, uvEvents, OnPoll);
  if (r != 0) return throwErrno(env, -r, "uv_poll_start");
  setStarted(w, true);
  return undefinedValue(env);
}

napi_value Stop(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  Watcher* w = unwrap(env, info, &argc, nullptr, nullptr);
  if (w == nullptr) return nullptr;
  if (!w->closed) {
    uv_poll_stop(&w->handle);
    setStarted(w, false);
  }
  return undefinedValue(env);
}

napi_value Close(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  Watcher* w = unwrap(env, info, &argc, nullptr, nullptr);
  if (w == nullptr) return nullptr;
  closeWatcher(w);
  return undefinedValue(env);
}

template <bool kRef>
napi_value RefUnref(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  napi_value self;
  Watcher* w = unwrap(env, info, &argc, nullptr, &self);
  if (w == nullptr) return nullptr;
  if (!w->closed) {
    if (kRef) {
      uv_ref(reinterpret_cast<uv_handle_t*>(&w->handle));
    } else {
      uv_unref(reinterpret_cast<uv_handle_t*>(&w->handle));
    }
  }
  return self;
}

}  // namespace

void registerFdWatcher(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      {"start", nullptr, Start, nullptr, nullptr, nullptr, napi_default_method, nullptr},
      {"stop", nullptr, Stop, nullptr, nullptr, nullptr, napi_default_method, nullptr},
      {"close", nullptr, Close, nullptr, nullptr, nullptr, napi_default_method, nullptr},
      {"ref", nullptr, RefUnref<true>, nullptr, nullptr, nullptr, napi_default_method, nullptr},
      {"unref", nullptr, RefUnref<false>, nullptr, nullptr, nullptr, napi_default_method, nullptr},
  };
  napi_value ctor;
  napi_define_class(env, "FdWatcher", NAPI_AUTO_LENGTH, Construct, nullptr,
                    sizeof methods / sizeof methods[0], methods, &ctor);
  napi_set_named_property(env, exports, "FdWatcher", ctor);
}

}  // namespace vfio_native
