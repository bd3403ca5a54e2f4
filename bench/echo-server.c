/* A bare C vfio-user responder: the "socket's own limit" baseline (QEMU docs/interop/vfio-user.rst).
 *
 * Its system calls per message are those of libvfio-user's server in blocking mode (lib/tran_sock.c:
 * recvmsg of the 16-byte header with room for fds, recv of the body, sendmsg of the reply), without
 * libvfio-user's work between them (a malloc per body, the command dispatch, the region callback), so
 * it is at least as fast as a libvfio-user server on the same machine.
 *
 * Accepts one connection on a UNIX socket, answers VERSION, then answers every REGION_READ with
 * `count` zero bytes (count <= 8), every REGION_WRITE with the echoed access header, DMA_MAP
 * (closing any fd it came with) and DMA_UNMAP (echoing the request), and any other command with
 * an EINVAL error reply. It models no device: it measures what the socket round trip costs.
 *
 * usage: echo-server SOCKET [--cpu N]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vfio-user-wire.h"

#define MAX_MSG (1024 * 1024 + 32)
#define MAX_FDS 16

static const char server_caps[] =
    "{\"capabilities\":{\"max_msg_fds\":16,\"max_data_xfer_size\":1048576,"
    "\"max_dma_maps\":65535,\"pgsizes\":4096}}";

static void die_errno(const char *what)
{
    fprintf(stderr, "echo-server: %s: %s\n", what, strerror(errno));
    exit(2);
}

/* Reads exactly len bytes; the first read also collects SCM_RIGHTS fds. Returns 0 on EOF. */
static int recv_exact(int s, void *buf, size_t len, int *fds, int *nfds)
{
    char *p = buf;
    int first = 1;
    while (len > 0) {
        struct iovec iov = { .iov_base = p, .iov_len = len };
        char cbuf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
        if (first && fds != NULL) {
            msg.msg_control = cbuf;
            msg.msg_controllen = sizeof(cbuf);
        }
        ssize_t n = recvmsg(s, &msg, MSG_CMSG_CLOEXEC);
        if (n == 0) {
            return 0;
        }
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == ECONNRESET) {
                return 0;
            }
            die_errno("recvmsg");
        }
        if (first && fds != NULL) {
            for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                    int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
                    memcpy(fds + *nfds, CMSG_DATA(c), sizeof(int) * (size_t)k);
                    *nfds += k;
                }
            }
        }
        first = 0;
        p += n;
        len -= (size_t)n;
    }
    return 1;
}

static void send_all(int s, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = send(s, p, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            die_errno("send");
        }
        p += n;
        len -= (size_t)n;
    }
}

static void reply(int s, struct hdr *req, const void *payload, uint32_t len, uint32_t err)
{
    static char out[HDR_SIZE + 4096];
    if (req->flags & F_NO_REPLY) {
        return;
    }
    struct hdr *h = (struct hdr *)out;
    h->msg_id = req->msg_id;
    h->cmd = req->cmd;
    h->flags = F_REPLY | (err ? F_ERROR : 0);
    h->error_no = err;
    if (err) {
        len = 0;
    }
    h->msg_size = HDR_SIZE + len;
    if (len > 0) {
        memcpy(out + HDR_SIZE, payload, len);
    }
    send_all(s, out, h->msg_size);
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    int cpu = -1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--cpu") && i + 1 < argc) {
            cpu = atoi(argv[++i]);
        } else {
            path = argv[i];
        }
    }
    if (path == NULL) {
        fprintf(stderr, "usage: %s SOCKET [--cpu N]\n", argv[0]);
        return 1;
    }
    if (cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        if (sched_setaffinity(0, sizeof(set), &set) < 0) {
            die_errno("sched_setaffinity");
        }
    }

    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(addr.sun_path)) {
        fprintf(stderr, "echo-server: socket path too long\n");
        return 1;
    }
    strcpy(addr.sun_path, path);
    unlink(path);
    int ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (ls < 0 || bind(ls, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(ls, 1) < 0) {
        die_errno("listen");
    }
    /* Readiness line for scripts that start the client after the server. */
    printf("listening %s\n", path);
    fflush(stdout);
    int s = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
    if (s < 0) {
        die_errno("accept");
    }
    close(ls);
    unlink(path);

    static char body[MAX_MSG];
    for (;;) {
        struct hdr h;
        int fds[MAX_FDS];
        int nfds = 0;
        if (!recv_exact(s, &h, HDR_SIZE, fds, &nfds)) {
            break;
        }
        if (h.msg_size < HDR_SIZE || h.msg_size > MAX_MSG) {
            reply(s, &h, NULL, 0, EINVAL);
            break; /* cannot resynchronise the stream */
        }
        uint32_t len = h.msg_size - HDR_SIZE;
        if (len > 0 && !recv_exact(s, body, len, NULL, NULL)) {
            break;
        }
        /* This responder keeps no fd: every one received is closed here. */
        for (int i = 0; i < nfds; i++) {
            close(fds[i]);
        }
        if ((h.flags & F_TYPE_MASK) != 0) {
            reply(s, &h, NULL, 0, EINVAL);
            continue;
        }
        switch (h.cmd) {
        case CMD_VERSION: {
            char v[4 + sizeof(server_caps)];
            memset(v, 0, 4);
            memcpy(v + 4, server_caps, sizeof(server_caps));
            reply(s, &h, v, sizeof(v), 0);
            break;
        }
        case CMD_REGION_READ: {
            uint32_t count;
            if (len < 16 || (memcpy(&count, body + 12, 4), count > 8)) {
                reply(s, &h, NULL, 0, EINVAL);
                break;
            }
            memset(body + 16, 0, count);
            reply(s, &h, body, 16 + count, 0);
            break;
        }
        case CMD_REGION_WRITE:
            if (len < 16) {
                reply(s, &h, NULL, 0, EINVAL);
                break;
            }
            reply(s, &h, body, 16, 0);
            break;
        case CMD_DMA_MAP:
            reply(s, &h, NULL, 0, len < 32 ? EINVAL : 0);
            break;
        case CMD_DMA_UNMAP:
            if (len < 24) {
                reply(s, &h, NULL, 0, EINVAL);
                break;
            }
            reply(s, &h, body, 24, 0);
            break;
        default:
            reply(s, &h, NULL, 0, EINVAL);
            break;
        }
    }
    close(s);
    return 0;
}
