// Hot-path socket calls: sendmsg/recvmsg with SCM_RIGHTS (recvmsg optionally busy-polling) and a one-fd
// ppoll; all return -errno. Follows unix(7) and cmsg(3) (SCM_RIGHTS, SCM_MAX_FD = 253, MSG_CTRUNC), ppoll(2),
// sched_yield(2).
#include "addon.h"

#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cmath>
#include <algorithm>
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

int64_t nowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// recvmsg with flags, retried on EINTR; with spinNs > 0 nonblocking and retried on EAGAIN after a
// sched_yield until spinNs have passed. Resets the control buffer before each try. Bytes or -errno.
ssize_t recvSpinning(int fd, msghdr* msg, void* cbuf, size_t cbufLen, int flags, int64_t spinNs) {
  if (spinNs > 0) flags |= MSG_DONTWAIT;
  const int64_t deadline = spinNs > 0 ? nowNs() + spinNs : 0;
  for (;;) {
    msg->msg_control = cbuf;
    msg->msg_controllen = cbufLen;
    msg->msg_flags = 0;
    ssize_t r = ::recvmsg(fd, msg, flags);
    if (r >= 0) return r;
    if (errno == EINTR) continue;
    if (errno != EAGAIN || spinNs <= 0 || nowNs() >= deadline) return -errno;
    sched_yield();
  }
}

// One recvmsg(MSG_CMSG_CLOEXEC) into data[0, len), spinning per recvSpinning. out[0] receives the fd
// count and out[1, outLen) the fds (now the caller's). If more fds arrived than out can hold, or the
// kernel truncated the control data (MSG_CTRUNC), every fd that did arrive is closed, out[0] is 0 and
// the result is -EMSGSIZE; the bytes of that recvmsg are lost too (the stream is broken).
ssize_t recvWithFds(int fd, uint8_t* data, size_t len, int32_t* out, size_t outLen, int64_t spinNs) {
  out[0] = 0;
  alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(int) * kMaxFds)];
  iovec iov = {data, len};
  msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  ssize_t r = recvSpinning(fd, &msg, cbuf, sizeof cbuf, MSG_CMSG_CLOEXEC, spinNs);
  if (r < 0) return r;
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
    return -EMSGSIZE;
  }
  std::memcpy(out + 1, got, sizeof(int) * n);
  out[0] = n;
  return r;
}

// An Int32Array of at least `min` elements; throws and returns false otherwise.
bool argInt32Array(napi_env env, napi_value v, const char* name, size_t min, int32_t** out, size_t* len) {
  napi_typedarray_type type;
  void* ptr;
  if (napi_get_typedarray_info(env, v, &type, len, &ptr, nullptr, nullptr) != napi_ok ||
      type != napi_int32_array || *len < min) {
    throwType(env, name);
    return false;
  }
  *out = static_cast<int32_t*>(ptr);
  return true;
}

// recvmsg(fd, buf, offset, length, fdsOut, spinNs?): one recvmsg into buf[offset..offset+length);
// fdsOut as out in recvWithFds. With spinNs > 0 it busy-polls: while the socket has nothing
// (EAGAIN) and spinNs have not passed, it yields the CPU (sched_yield) and tries again
// (MSG_DONTWAIT, whatever the fd's mode). -EAGAIN when nothing came within the window.
napi_value Recvmsg(napi_env env, napi_callback_info info) {
  VFIO_ARGS(6);
  int32_t fd;
  uint8_t* data;
  size_t len;
  int32_t* out;
  size_t outLen;
  int64_t spinNs = 0;
  if (!argInt32(env, argv[0], "fd", &fd) || !argRange(env, argv + 1, false, &data, &len) ||
      !argInt32Array(env, argv[4], "fdsOut must be a non-empty Int32Array", 1, &out, &outLen) ||
      (!isUndefined(env, argv[5]) && !argInt64(env, argv[5], "spinNs", &spinNs))) {
    return nullptr;
  }
  return makeInt(env, recvWithFds(fd, data, len, out, outLen, spinNs));
}

// SO_PEEK_OFF 0: the next MSG_PEEK starts at the head of the queue. 0 or -1 (errno set).
int peekOffsetToHead(int fd) {
  int zero = 0;
  return ::setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof zero);
}

// peekOffsets(fd): SO_PEEK_OFF 0, so that each MSG_PEEK continues where the last one ended and a
// real read moves the offset back by what it took (socket(7)). Throws NativeError.
napi_value PeekOffsets(napi_env env, napi_callback_info info) {
  VFIO_ARGS(1);
  int32_t fd;
  if (!argInt32(env, argv[0], "fd", &fd)) return nullptr;
  if (peekOffsetToHead(fd) < 0) return throwErrno(env, errno, "setsockopt");
  return undefinedValue(env);
}

// Drops `n` bytes at the head of fd's queue (bytes a peek saw, carrying no fds), reading them into
// data[0, len). 0, or -EPROTO when they are not there as peeked.
int dropPeeked(int fd, uint8_t* data, size_t len, int64_t n, int32_t* out, size_t outLen) {
  while (n > 0) {
    size_t chunk = static_cast<size_t>(std::min<int64_t>(n, static_cast<int64_t>(len)));
    ssize_t r = recvWithFds(fd, data, chunk, out, outLen, 0);
    if (r <= 0 || out[0] != 0) {
      if (r > 0) closeAll(out + 1, out[0]);
      out[0] = 0;
      return -EPROTO;
    }
    n -= r;
  }
  return 0;
}

// dropPeeked(fd, buf, count, io): drops `count` bytes a peek saw at the head of fd's queue (reading
// them into buf, whose contents are not kept), io as exchange's. 0, or -EPROTO when they were not
// there as peeked (any fds that came are closed).
napi_value DropPeeked(napi_env env, napi_callback_info info) {
  VFIO_ARGS(4);
  int32_t fd;
  uint8_t* data;
  size_t len;
  int64_t count;
  int32_t* io;
  size_t ioLen;
  if (!argInt32(env, argv[0], "fd", &fd) || !argBytes(env, argv[1], "buf", &data, &len) ||
      !argInt64(env, argv[2], "count", &count) ||
      !argInt32Array(env, argv[3], "io must be an Int32Array of at least 4", 4, &io, &ioLen)) {
    return nullptr;
  }
  if (count < 0 || len == 0) return throwRange(env, "count must be >= 0 and buf not empty");
  return makeInt(env, dropPeeked(fd, data, len, count, io + 3, ioLen - 3));
}

// A send that took longer than this was preempted: the peer ran meanwhile (see exchange).
constexpr int64_t kPreemptedSendNs = 3000;
// Most bytes left owed. Queued bytes count against the peer's send buffer (a small message takes
// about 1 KiB of it), and when a quarter of it is used, dropping bytes no longer wakes the peer.
constexpr int64_t kMaxOwed = 1024;

// exchange(fd, tx, buf, io): a server's round trip in one call (each call into the addon costs about
// a microsecond right after a context switch). The scalar inputs come in io, so that the call parses
// four arguments instead of ten (each one more pass through N-API, on cold caches after a switch):
// io[0] = txLength, io[1] = owed (how many bytes at the head of the queue were peeked and handled
// already), io[2] = spinNs, io[3] = 1 to peek, 0 not to.
//  1. txLength > 0: sendmsg(tx[0, txLength), MSG_NOSIGNAL|MSG_DONTWAIT); io[0] = bytes sent or
//     -errno. When not all went, step 3 does not spin.
//  2. Drops the owed bytes, which frees the kernel's buffers and so wakes a peer blocked in recv on
//     its end. Right after step 1 woke that peer it is awake already and this wakes nobody; but if
//     step 1 was preempted by the peer (it took over kPreemptedSendNs), the peer has read the reply,
//     sent its next request and gone back to sleep, and dropping now would wake it for nothing (on
//     one CPU that is two more context switches): the bytes stay owed, to be dropped after a later
//     send, or when over kMaxOwed are owed, or when the call returns with nothing new.
//  3. Receives new bytes into buf (all of it), busy-polling for spinNs: while nothing new is there it
//     yields the CPU (sched_yield) and tries again. With peek (the socket needs peekOffsets) by
//     recvmsg(MSG_PEEK) past the owed bytes (io[1] = 0: the new bytes stay queued too) unless they
//     carry fds, which only a real read takes; otherwise (and then, after dropping the owed bytes) by
//     a real recvmsg (io[1] = 1) with the fd count in io[3] and the fds, now the caller's, in io[4..]
//     (the rules of recvmsg's fdsOut).
// io[2] = bytes still owed at the head of the queue (ahead of any new peeked bytes).
// Returns the count of new bytes (at buf[0]), 0 at EOF, or -errno (-EAGAIN: nothing new within the
// window, and nothing owed); -EPROTO when owed bytes were not there (treat the stream as broken).
napi_value Exchange(napi_env env, napi_callback_info info) {
  VFIO_ARGS(4);
  int32_t fd;
  uint8_t* tx = nullptr;
  size_t txTotal = 0;
  uint8_t* data;
  size_t len;
  int32_t* io;
  size_t ioLen;
  if (!argInt32(env, argv[0], "fd", &fd) || !argBytes(env, argv[2], "buf", &data, &len) ||
      !argInt32Array(env, argv[3], "io must be an Int32Array of at least 4", 4, &io, &ioLen)) {
    return nullptr;
  }
  const int64_t txLength = io[0];
  int64_t owed = io[1];
  int64_t spinNs = io[2];
  const bool peek = io[3] != 0;
  if (txLength > 0 && !argBytes(env, argv[1], "tx", &tx, &txTotal)) return nullptr;
  if (txLength < 0 || static_cast<size_t>(txLength) > txTotal || owed < 0) {
    return throwRange(env, "txLength or owed out of range");
  }
  io[0] = 0;
  io[1] = 1;
  io[2] = 0;
  io[3] = 0;
  int32_t* fdsOut = io + 3;
  const size_t fdsOutLen = ioLen - 3;
  bool preempted = false;
  if (txLength > 0) {
    const int64_t t0 = nowNs();
    ssize_t w;
    do {
      w = ::send(fd, tx, static_cast<size_t>(txLength), MSG_NOSIGNAL | MSG_DONTWAIT);
    } while (w < 0 && errno == EINTR);
    preempted = nowNs() - t0 > kPreemptedSendNs;
    io[0] = static_cast<int32_t>(w < 0 ? -errno : w);
    if (w != txLength) spinNs = 0;
  }
  if (owed > 0 && (!preempted || !peek || owed > kMaxOwed)) {
    if (dropPeeked(fd, data, len, owed, fdsOut, fdsOutLen) != 0) return makeInt(env, -EPROTO);
    owed = 0;
  }
  if (peek) {
    iovec iov = {data, len};
    msghdr msg = {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    // No control buffer: fds on the queued bytes show as MSG_CTRUNC and stay on the socket. The peek
    // starts at the socket's peek offset (SO_PEEK_OFF, see peekOffsets), past the owed bytes.
    ssize_t r = recvSpinning(fd, &msg, nullptr, 0, MSG_PEEK | MSG_DONTWAIT, spinNs);
    if (r == -EAGAIN) {
      // Nothing new: settle what is owed before the caller goes idle.
      if (owed > 0 && dropPeeked(fd, data, len, owed, fdsOut, fdsOutLen) != 0) return makeInt(env, -EPROTO);
      return makeInt(env, -EAGAIN);
    }
    if (r < 0) return makeInt(env, r);
    if (r == 0) return makeInt(env, 0);  // EOF
    if ((msg.msg_flags & MSG_CTRUNC) == 0) {
      io[1] = 0;
      io[2] = static_cast<int32_t>(owed);
      return makeInt(env, r);
    }
    // fds: drop what is owed, then take the bytes with their fds (they are there: no spinning), and
    // put the peek offset back at the head, whatever that read took.
    if (owed > 0 && dropPeeked(fd, data, len, owed, fdsOut, fdsOutLen) != 0) return makeInt(env, -EPROTO);
    ssize_t got = recvWithFds(fd, data, len, fdsOut, fdsOutLen, 0);
    if (peekOffsetToHead(fd) < 0 && got > 0) {
      closeAll(fdsOut + 1, fdsOut[0]);
      fdsOut[0] = 0;
      return makeInt(env, -EPROTO);
    }
    return makeInt(env, got);
  }
  return makeInt(env, recvWithFds(fd, data, len, fdsOut, fdsOutLen, spinNs));
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
  defineFunction(env, exports, "exchange", Exchange);
  defineFunction(env, exports, "peekOffsets", PeekOffsets);
  defineFunction(env, exports, "dropPeeked", DropPeeked);
  defineFunction(env, exports, "pollWait", PollWait);
}

}  // namespace vfio_native
