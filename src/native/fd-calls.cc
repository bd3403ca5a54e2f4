// Setup-time fd calls: UNIX sockets, close/dup/flags, eventfd, memfd and positional file I/O.
// Follows the Linux man pages socket(7)/unix(7), eventfd(2), memfd_create(2), pread(2).
#include "addon.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace vfio_native {

namespace {

bool argString(napi_env env, napi_value v, const char* name, std::string* out) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, nullptr, 0, &len) != napi_ok) {
    throwType(env, (std::string(name) + " must be a string").c_str());
    return false;
  }
  out->resize(len);
  napi_get_value_string_utf8(env, v, out->data(), len + 1, &len);
  return true;
}

// Fills a sockaddr_un; a leading NUL selects the abstract namespace (length-delimited name).
bool unixAddress(napi_env env, const char* syscall, const std::string& path, sockaddr_un* addr,
                 socklen_t* len) {
  std::memset(addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  bool abstract = !path.empty() && path[0] == '\0';
  if (path.empty() || path.size() + (abstract ? 0 : 1) > sizeof addr->sun_path) {
    throwErrno(env, path.empty() ? EINVAL : ENAMETOOLONG, syscall, path.c_str());
    return false;
  }
  std::memcpy(addr->sun_path, path.data(), path.size());
  *len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + (abstract ? 0 : 1));
  return true;
}

napi_value Socketpair(napi_env env, napi_callback_info) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
    return throwErrno(env, errno, "socketpair");
  }
  napi_value arr;
  napi_create_array_with_length(env, 2, &arr);
  napi_set_element(env, arr, 0, makeInt(env, sv[0]));
  napi_set_element(env, arr, 1, makeInt(env, sv[1]));
  return arr;
}

napi_value UnixListen(napi_env env, napi_callback_info info) {
  VFIO_ARGS(2);
  std::string path;
  int32_t backlog = SOMAXCONN;  // the kernel caps it at net.core.somaxconn
  if (!argString(env, argv[0], "path", &path)) return nullptr;
  if (!isUndefined(env, argv[1]) && !argInt32(env, argv[1], "backlog", &backlog)) return nullptr;
  sockaddr_un addr;
  socklen_t len;
  if (!unixAddress(env, "bind", path, &addr, &len)) return nullptr;
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throwErrno(env, errno, "socket");
  const char* failed = nullptr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    failed = "bind";
  } else if (::listen(fd, backlog) != 0) {
    failed = "listen";
  }
  if (failed != nullptr) {
    int err = errno;
    ::close(fd);  // balances the socket() above
    return throwErrno(env, err, failed, path.c_str());
  }
  return makeInt(env, fd);
}

// A UNIX stream connect either completes at once or fails: EAGAIN means the listener's backlog is
// full (nothing was queued), which we report rather than block the event loop on.
napi_value UnixConnect(napi_env env, napi_callback_info info) {
  VFIO_ARGS(1);
  std::string path;
  if (!argString(env, argv[0], "path", &path)) return nullptr;
  sockaddr_un addr;
  socklen_t len;
  if (!unixAddress(env, "connect", path, &addr, &len)) return nullptr;
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throwErrno(env, errno, "socket");
  int r;
  do {
    r = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), len);
  } while (r != 0 && errno == EINTR);
  if (r != 0 && errno == EINPROGRESS) {
    // Not seen on AF_UNIX today; wait briefly for completion like a blocking connect would.
    pollfd p = {fd, POLLOUT, 0};
    if (::poll(&p, 1, 1000) == 1) {
      int soerr = 0;
      socklen_t sl = sizeof soerr;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
      r = soerr == 0 ? 0 : -1;
      errno = soerr;
    } else {
      errno = ETIMEDOUT;
    }
  }
  if (r != 0) {
    int err = errno;
    ::close(fd);  // balances the socket() above
    return throwErrno(env, err, "connect", path.c_str());
  }
  return makeInt(env, fd);
}

napi_value Accept(napi_env env, napi_callback_info info) {
  VFIO_ARGS(1);
  int32_t fd;
  if (!argInt32(env, argv[0], "fd", &fd)) return nullptr;
  int r;
  do {
    r = ::accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  } while (r < 0 && errno == EINTR);
  return makeInt(env, r < 0 ? -errno : r);
}

// Linux releases the fd even when close() fails, so EINTR is not retried (that could close a
// reused number); EBADF means a double close somewhere and is thrown.
napi_value Close(napi_env env, napi_callback_info info) {
  VFIO_ARGS(1);
  int32_t fd;
  if (!argInt32(env, argv[0], "fd", &fd)) return nullptr;
  if (::close(fd) != 0 && errno != EINTR) return throwErrno(env, errno, "close");
  return undefinedValue(env);
}

napi_value Dup(napi_env env, napi_callback_info info) {
  VFIO_ARGS(1);
  int32_t fd;
  if (!argInt32(env, argv[0], "fd", &fd)) return nullptr;
  int r = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (r < 0) return throwErrno(env, errno, "fcntl");
  return makeInt(env, r);
}

napi_value SetNonBlocking(napi_env env, napi_callback_info info) {
  VFIO_ARGS(2);
  int32_t fd;
  bool on;
  if (!argInt32(env, argv[0], "fd", &fd) || !argBool(env, argv[1], "on", &on)) return nullptr;
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) return throwErrno(env, errno, "fcntl");
  int want = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
  if (want != flags && ::fcntl(fd, F_SETFL, want) != 0) return throwErrno(env, errno, "fcntl");
  return undefinedValue(env);
}

napi_value FdIsOpen(napi_env env, napi_callback_info info) {
  VFIO_ARGS(1);
  int32_t fd;
  if (!argInt32(env, argv[0], "fd", &fd)) return nullptr;
  napi_value r;
  napi_get_boolean(env, ::fcntl(fd, F_GETFD) != -1 || errno != EBADF, &r);
  return r;
}

napi_value Eventfd(napi_env env, napi_callback_info info) {
  VFIO_ARGS(2);
  int32_t initval = 0;
  int32_t flags = EFD_CLOEXEC | EFD_NONBLOCK;
  if (!isUndefined(env, argv[0]) && !argInt32(env, argv[0], "initval", &initval)) return nullptr;
  if (!isUndefined(env, argv[1]) && !argInt32(env, argv[1], "flags", &flags)) return nullptr;
  if (initval < 0) return throwRange(env, "initval must be >= 0");
  int fd = ::eventfd(static_cast<unsigned>(initval), flags);
  if (fd < 0) return throwErrno(env, errno, "eventfd");
  return makeInt(env, fd);
}

napi_value EventfdWrite(napi_env env, napi_callback_info info) {
  VFIO_ARGS(2);
  int32_t fd;
  int64_t value = 1;
  if (!argInt32(env, argv[0], "fd", &fd)) return nullptr;
  if (!isUndefined(env, argv[1]) && !argInt64(env, argv[1], "value", &value)) return nullptr;
  uint64_t v = static_cast<uint64_t>(value);
  ssize_t r;
  do {
    r = ::write(fd, &v, sizeof v);
  } while (r < 0 && errno == EINTR);
  return makeInt(env, r < 0 ? -errno : 0);
}

napi_value EventfdRead(napi_env env, napi_callback_info info) {
  VFIO_ARGS(1);
  int32_t fd;
  if (!argInt32(env, argv[0], "fd", &fd)) return nullptr;
  uint64_t v = 0;
  ssize_t r;
  do {
    r = ::read(fd, &v, sizeof v);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return makeInt(env, -errno);
  if (r != sizeof v) return makeInt(env, -EINVAL);  // not an eventfd
  napi_value big;
  napi_create_bigint_uint64(env, v, &big);
  return big;
}

napi_value MemfdCreate(napi_env env, napi_callback_info info) {
  VFIO_ARGS(3);
  std::string name;
  int64_t size = 0;
  bool sealing = false;
  if (!argString(env, argv[0], "name", &name)) return nullptr;
  if (!isUndefined(env, argv[1]) && !argInt64(env, argv[1], "size", &size)) return nullptr;
  if (!isUndefined(env, argv[2]) && napi_get_value_bool(env, argv[2], &sealing) != napi_ok) return throwType(env, "allowSealing must be a boolean");
  if (size < 0) return throwRange(env, "size must be >= 0");
  int fd = ::memfd_create(name.c_str(), MFD_CLOEXEC | (sealing ? MFD_ALLOW_SEALING : 0));
  if (fd < 0) return throwErrno(env, errno, "memfd_create");
  if (size > 0 && ::ftruncate(fd, size) != 0) {
    int err = errno;
    ::close(fd);  // balances memfd_create above
    return throwErrno(env, err, "ftruncate");
  }
  return makeInt(env, fd);
}

napi_value Ftruncate(napi_env env, napi_callback_info info) {
  VFIO_ARGS(2);
  int32_t fd;
  int64_t size;
  if (!argInt32(env, argv[0], "fd", &fd) || !argInt64(env, argv[1], "size", &size)) return nullptr;
  if (::ftruncate(fd, size) != 0) return throwErrno(env, errno, "ftruncate");
  return undefinedValue(env);
}

// fcntl(F_GET_SEALS): the file's seals; 0 for a file that cannot be sealed (not a memfd: EINVAL).
napi_value GetSeals(napi_env env, napi_callback_info info) {
  VFIO_ARGS(1);
  int32_t fd;
  if (!argInt32(env, argv[0], "fd", &fd)) return nullptr;
  int seals = ::fcntl(fd, F_GET_SEALS);
  if (seals < 0) return errno == EINVAL ? makeInt(env, 0) : throwErrno(env, errno, "fcntl(F_GET_SEALS)");
  return makeInt(env, seals);
}

// fcntl(F_ADD_SEALS).
napi_value AddSeals(napi_env env, napi_callback_info info) {
  VFIO_ARGS(2);
  int32_t fd, seals;
  if (!argInt32(env, argv[0], "fd", &fd) || !argInt32(env, argv[1], "seals", &seals)) return nullptr;
  if (::fcntl(fd, F_ADD_SEALS, seals) != 0) return throwErrno(env, errno, "fcntl(F_ADD_SEALS)");
  return nullptr;
}

napi_value FstatSize(napi_env env, napi_callback_info info) {
  VFIO_ARGS(1);
  int32_t fd;
  if (!argInt32(env, argv[0], "fd", &fd)) return nullptr;
  struct stat st;
  if (::fstat(fd, &st) != 0) return throwErrno(env, errno, "fstat");
  return makeInt(env, st.st_size);
}

// pread/pwrite loop on short transfers (regular files and memfds); a short total means EOF.
// An error after some bytes moved returns the bytes moved, like a short read would.
template <bool kWrite>
napi_value Positional(napi_env env, napi_callback_info info) {
  VFIO_ARGS(3);
  int32_t fd;
  uint8_t* data;
  size_t len;
  int64_t pos;
  if (!argInt32(env, argv[0], "fd", &fd) || !argBytes(env, argv[1], "buf", &data, &len) ||
      !argInt64(env, argv[2], "position", &pos)) {
    return nullptr;
  }
  if (pos < 0) return makeInt(env, -EINVAL);
  size_t done = 0;
  while (done < len) {
    ssize_t r = kWrite ? ::pwrite(fd, data + done, len - done, pos + done)
                       : ::pread(fd, data + done, len - done, pos + done);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (done > 0) break;
      return makeInt(env, -errno);
    }
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  return makeInt(env, static_cast<int64_t>(done));
}

// Single read(2)/write(2) into buf[offset..offset+length): for pipes and other plain fds.
template <bool kWrite>
napi_value Transfer(napi_env env, napi_callback_info info) {
  VFIO_ARGS(4);
  int32_t fd;
  uint8_t* data;
  size_t len;
  if (!argInt32(env, argv[0], "fd", &fd) || !argRange(env, argv + 1, true, &data, &len)) return nullptr;
  ssize_t r;
  do {
    r = kWrite ? ::write(fd, data, len) : ::read(fd, data, len);
  } while (r < 0 && errno == EINTR);
  return makeInt(env, r < 0 ? -errno : r);
}

}  // namespace

void registerFdCalls(napi_env env, napi_value exports) {
  defineFunction(env, exports, "socketpair", Socketpair);
  defineFunction(env, exports, "unixListen", UnixListen);
  defineFunction(env, exports, "unixConnect", UnixConnect);
  defineFunction(env, exports, "accept", Accept);
  defineFunction(env, exports, "close", Close);
  defineFunction(env, exports, "dup", Dup);
  defineFunction(env, exports, "setNonBlocking", SetNonBlocking);
  defineFunction(env, exports, "fdIsOpen", FdIsOpen);
  defineFunction(env, exports, "eventfd", Eventfd);
  defineFunction(env, exports, "eventfdWrite", EventfdWrite);
  defineFunction(env, exports, "eventfdRead", EventfdRead);
  defineFunction(env, exports, "memfdCreate", MemfdCreate);
  defineFunction(env, exports, "ftruncate", Ftruncate);
  defineFunction(env, exports, "fstatSize", FstatSize);
  defineFunction(env, exports, "getSeals", GetSeals);
  defineFunction(env, exports, "addSeals", AddSeals);
  defineFunction(env, exports, "pread", Positional<false>);
  defineFunction(env, exports, "pwrite", Positional<true>);
  defineFunction(env, exports, "read", Transfer<false>);
  defineFunction(env, exports, "write", Transfer<true>);
}

}  // namespace vfio_native
