// Hot-path socket calls: sendmsg/recvmsg with SCM_RIGHTS and a one-fd ppoll; all return -errno.
// Follows unix(7) and cmsg(3) (SCM_RIGHTS, SCM_MAX_FD = 253, MSG_CTRUNC), ppoll(2).
#include "addon.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstring>
#include <vector>

namespace vfio_native {

namespace {

constexpr int kMaxFds = 253;  // SCM_MAX_FD in include/net/scm.h
constexpr size_t kStackIovecs = 16;

// Reads an optional array of fds; on a wrong type throws and returns -1, over kMaxFds returns -2.
int readFds(napi_env env, napi_value v, int* fds) {
  if (isUndefined(env, v)) return 0;
  bool isArray = false;
  uint32_t n = 0;
  if (napi_is_array(env, v, &isArray) != napi_ok || !isArray || napi_get_array_length(env, v, &n) != napi_ok) {
    throwType(env, "fds must be an array of numbers");
    return -1;
  }
  if (n > static_cast<uint32_t>(kMaxFds)) return -2;
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    int32_t fd;
    if (napi_get_element(env, v, i, &e) != napi_ok || !argInt32(env, e, "fds[i]", &fd)) return -1;
    fds[i] = fd;
  }
  return static_cast<int>(n);
}

// One sendmsg(MSG_NOSIGNAL) with the fds as SCM_RIGHTS: bytes sent (maybe short) or -errno.
napi_value sendWithFds(napi_env env, int fd, iovec* iov, size_t iovlen, napi_value fdsValue) {
  int fds[kMaxFds];
  int nfds = readFds(env, fdsValue, fds);
  if (nfds == -1) return nullptr;
  if (nfds == -2) return makeInt(env, -EINVAL);
  alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(int) * kMaxFds)];
  msghdr msg = {};
  msg.msg_iov = iov;
  msg.msg_iovlen = iovlen;
  if (nfds > 0) {
    msg.msg_control = cbuf;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
    std::memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
  }
  ssize_t r;
  do {
    r = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
  } while (r < 0 && errno == EINTR);
  return makeInt(env, r < 0 ? -errno : r);
}

napi_value Sendmsg(napi_env env, napi_callback_info info) {
  VFIO_ARGS(3);
  int32_t fd;
  uint8_t* data;
  size_t len;
  if (!argInt32(env, argv[0], "fd", &fd) || !argBytes(env, argv[1], "buf", &data, &len)) return nullptr;
  iovec iov = {data, len};
  return sendWithFds(env, fd, &iov, 1, argv[2]);
}

napi_value Sendmsgv(napi_env env, napi_callback_info info) {
  VFIO_ARGS(3);
  int32_t fd;
  bool isArray = false;
  uint32_t n = 0;
  if (!argInt32(env, argv[0], "fd", &fd)) return nullptr;
  if (napi_is_array(env, argv[1], &isArray) != napi_ok || !isArray ||
      napi_get_array_length(env, argv[1], &n) != napi_ok) {
    return throwType(env, "bufs must be an array of Uint8Array");
  }
  if (n > IOV_MAX) return makeInt(env, -EINVAL);
  iovec stackIov[kStackIovecs];
  std::vector<iovec> heapIov;
  iovec* iov = stackIov;
  if (n > kStackIovecs) {
    heapIov.resize(n);
    iov = heapIov.data();
  }
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    uint8_t* data;
    size_t len;
    if (napi_get_element(env, argv[1], i, &e) != napi_ok || !argBytes(env, e, "bufs[i]", &data, &len)) {
      return nullptr;
    }
    iov[i] = {data, len};
  }
  return sendWithFds(env, fd, iov, n, argv[2]);
}

void closeAll(const int* fds, int n) {
  for (int i = 0; i < n; i++) ::close(fds[i]);
}

// recvmsg(fd, buf, offset, length, fdsOut): one recvmsg(MSG_CMSG_CLOEXEC) into
// buf[offset..offset+length). fdsOut[0] receives the fd count, fdsOut[1..] the fds (now owned by
// the caller). If more fds arrived than fdsOut can hold, or the kernel truncated the control data
// (MSG_CTRUNC), every fd that did arrive is closed, fdsOut[0] is 0 and the result is -EMSGSIZE;
// the bytes of that recvmsg are lost too, so the caller must treat the stream as broken.
napi_value Recvmsg(napi_env env, napi_callback_info info) {
  VFIO_ARGS(5);
  int32_t fd;
  uint8_t* data;
  size_t len;
  int64_t offset;
  int64_t length;
  if (!argInt32(env, argv[0], "fd", &fd) || !argBytes(env, argv[1], "buf", &data, &len) ||
      !argInt64(env, argv[2], "offset", &offset) || !argInt64(env, argv[3], "length", &length)) {
    return nullptr;
  }
  if (offset < 0 || length < 0 || offset + length > static_cast<int64_t>(len)) {
    return throwRange(env, "offset/length outside buf");
  }
  napi_typedarray_type type;
  size_t outLen;
  void* outPtr;
  if (napi_get_typedarray_info(env, argv[4], &type, &outLen, &outPtr, nullptr, nullptr) != napi_ok ||
      type != napi_int32_array || outLen == 0) {
    return throwType(env, "fdsOut must be a non-empty Int32Array");
  }
  auto* out = static_cast<int32_t*>(outPtr);
  out[0] = 0;

  alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(int) * kMaxFds)];
  iovec iov = {data + offset, static_cast<size_t>(length)};
  msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = cbuf;
  msg.msg_controllen = sizeof cbuf;
  ssize_t r;
  do {
    r = ::recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return makeInt(env, -errno);

  int got[kMaxFds];
  int n = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    int k = static_cast<int>((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
    for (int i = 0; i < k && n < kMaxFds; i++) {
      std::memcpy(&got[n++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
    }
  }
  if ((msg.msg_flags & MSG_CTRUNC) != 0 || static_cast<size_t>(n) > outLen - 1) {
    closeAll(got, n);  // a truncated fd list is an error, never a leak
    return makeInt(env, -EMSGSIZE);
  }
  std::memcpy(out + 1, got, sizeof(int) * n);
  out[0] = n;
  return makeInt(env, r);
}

int64_t nowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// pollWait(fd, events, timeoutNs): ppoll on one fd; revents (0 on timeout) or -errno. A negative
// timeout waits forever. EINTR is retried with the time that is left.
napi_value PollWait(napi_env env, napi_callback_info info) {
  VFIO_ARGS(3);
  int32_t fd;
  int32_t events;
  double timeout;
  if (!argInt32(env, argv[0], "fd", &fd) || !argInt32(env, argv[1], "events", &events)) return nullptr;
  if (napi_get_value_double(env, argv[2], &timeout) != napi_ok || std::isnan(timeout)) {
    return throwType(env, "timeoutNs must be a number");
  }
  bool forever = timeout < 0 || timeout >= 9.0e18;  // beyond int64 ns (~285 years): forever
  int64_t left = forever ? 0 : static_cast<int64_t>(timeout);
  int64_t deadline = forever ? 0 : nowNs() + left;
  pollfd p = {fd, static_cast<short>(events), 0};
  for (;;) {
    timespec ts = {static_cast<time_t>(left / 1000000000), static_cast<long>(left % 1000000000)};
    int r = ::ppoll(&p, 1, forever ? nullptr : &ts, nullptr);
    if (r >= 0) return makeInt(env, r == 0 ? 0 : p.revents);
    if (errno != EINTR) return makeInt(env, -errno);
    if (!forever) {
      left = deadline - nowNs();
      if (left <= 0) return makeInt(env, 0);
    }
  }
}

}  // namespace

void registerMsgCalls(napi_env env, napi_value exports) {
  defineFunction(env, exports, "sendmsg", Sendmsg);
  defineFunction(env, exports, "sendmsgv", Sendmsgv);
  defineFunction(env, exports, "recvmsg", Recvmsg);
  defineFunction(env, exports, "pollWait", PollWait);
}

}  // namespace vfio_native
