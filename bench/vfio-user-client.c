/* A minimal vfio-user client for round-trip benchmarks (QEMU docs/interop/vfio-user.rst).
 *
 * Connects to a vfio-user server, negotiates VERSION with the JSON QEMU 10.x sends, then
 * measures one-request-in-flight round trips: REGION_READ of 4 bytes, REGION_WRITE of 4 bytes,
 * and optionally DMA_MAP+DMA_UNMAP pairs of a memfd. Every reply is verified (msg_id, type,
 * error bit, command, size, echoed fields); any protocol error exits non-zero.
 * Prints one JSON line per figure, e.g.
 *   {"bench":"vfio_user.region_read_4","unit":"roundtrips/s","value":N,"placement":"same-cpu"}
 *
 * usage: vfio-user-client SOCKET [--region R] [--offset O] [--count N] [--seconds S]
 *                               [--cpu N] [--placement NAME] [--dma SIZE] [--ops read|write|both]
 *                               [--idle S]
 * --ops read: only the REGION_READ figure (many clients at once stay in the same phase).
 * --start-at MS: after VERSION, waits until that CLOCK_REALTIME millisecond (clients started one by one begin
 *           together).
 * --idle S: after VERSION and one REGION_READ, prints {"ready":true}, stays connected and silent for S seconds,
 *           then leaves (what an attached but idle VMM costs the server).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vfio-user-wire.h"

struct region_access {
    struct hdr h;
    uint64_t offset;
    uint32_t region;
    uint32_t count;
    uint8_t data[8];
} __attribute__((packed));

struct dma_map {
    struct hdr h;
    uint32_t argsz;
    uint32_t flags;
    uint64_t offset;
    uint64_t address;
    uint64_t size;
} __attribute__((packed));

struct dma_unmap {
    struct hdr h;
    uint32_t argsz;
    uint32_t flags;
    uint64_t address;
    uint64_t size;
} __attribute__((packed));

/* The capabilities QEMU 10.x's vfio-user-pci sends (hw/vfio-user/proxy.c caps_json()). */
static const char qemu_caps[] =
    "{\"capabilities\": {\"pgsizes\": 4096, \"max_msg_fds\": 16, \"max_dma_maps\": 65535, "
    "\"max_data_xfer_size\": 1048576, \"migration\": {\"max_bitmap_size\": 268435456, "
    "\"pgsize\": 4096}, \"write_multiple\": true}}";

static int sock = -1;
static uint16_t next_id;

static void die(const char *what)
{
    fprintf(stderr, "vfio-user-client: %s\n", what);
    exit(2);
}

static void die_errno(const char *what)
{
    fprintf(stderr, "vfio-user-client: %s: %s\n", what, strerror(errno));
    exit(2);
}

static void send_all(const void *buf, size_t len, int fd)
{
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
    char cbuf[CMSG_SPACE(sizeof(int))];

    if (fd >= 0) {
        memset(cbuf, 0, sizeof(cbuf));
        msg.msg_control = cbuf;
        msg.msg_controllen = sizeof(cbuf);
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    ssize_t n = sendmsg(sock, &msg, MSG_NOSIGNAL);
    if (n < 0) {
        die_errno("send");
    }
    if ((size_t)n != len) {
        /* Rare for small messages: finish the rest without the fd. */
        const char *p = (const char *)buf + n;
        size_t left = len - (size_t)n;
        while (left > 0) {
            ssize_t m = send(sock, p, left, MSG_NOSIGNAL);
            if (m <= 0) {
                die_errno("send");
            }
            p += m;
            left -= (size_t)m;
        }
    }
}

static void recv_all(void *buf, size_t len)
{
    char *p = buf;
    while (len > 0) {
        ssize_t n = recv(sock, p, len, 0);
        if (n == 0) {
            die("server closed the connection");
        }
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            die_errno("recv");
        }
        p += n;
        len -= (size_t)n;
    }
}

/* Receives one reply into buf (capacity cap) and checks the header against the request. */
static size_t recv_reply(void *buf, size_t cap, uint16_t id, uint16_t cmd)
{
    struct hdr *h = buf;
    recv_all(h, HDR_SIZE);
    if (h->msg_size < HDR_SIZE || h->msg_size > cap) {
        fprintf(stderr, "vfio-user-client: reply size %u out of range\n", h->msg_size);
        exit(3);
    }
    if (h->msg_size > HDR_SIZE) {
        recv_all((char *)buf + HDR_SIZE, h->msg_size - HDR_SIZE);
    }
    if (h->msg_id != id || (h->flags & F_TYPE_MASK) != F_REPLY || h->cmd != cmd) {
        fprintf(stderr, "vfio-user-client: bad reply id %u (want %u) flags %#x cmd %u (want %u)\n",
                h->msg_id, id, h->flags, h->cmd, cmd);
        exit(3);
    }
    if (h->flags & F_ERROR) {
        fprintf(stderr, "vfio-user-client: cmd %u failed: %s\n", cmd, strerror((int)h->error_no));
        exit(3);
    }
    return h->msg_size;
}

static void negotiate(void)
{
    char buf[4096];
    size_t json_len = sizeof(qemu_caps); /* includes the NUL */
    struct hdr *h = (struct hdr *)buf;
    uint16_t id = next_id++;

    memset(buf, 0, sizeof(buf));
    h->msg_id = id;
    h->cmd = CMD_VERSION;
    h->msg_size = (uint32_t)(HDR_SIZE + 4 + json_len);
    uint16_t major = 0, minor = 0;
    memcpy(buf + HDR_SIZE, &major, 2);
    memcpy(buf + HDR_SIZE + 2, &minor, 2);
    memcpy(buf + HDR_SIZE + 4, qemu_caps, json_len);
    send_all(buf, h->msg_size, -1);

    size_t n = recv_reply(buf, sizeof(buf), id, CMD_VERSION);
    if (n < HDR_SIZE + 4) {
        die("short VERSION reply");
    }
    memcpy(&major, buf + HDR_SIZE, 2);
    memcpy(&minor, buf + HDR_SIZE + 2, 2);
    if (major != 0 || minor > 0) {
        die("incompatible server version");
    }
    if (n > HDR_SIZE + 4 && buf[n - 1] != '\0') {
        die("VERSION reply JSON is not NUL-terminated");
    }
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct run {
    long count;     /* stop after this many, if > 0 */
    double seconds; /* or after this long */
};

static int done(const struct run *r, long i, double t0)
{
    if (r->count > 0) {
        return i >= r->count;
    }
    return (i & 1023) == 0 && i > 0 && now() - t0 >= r->seconds;
}

static double bench_region(int write, uint32_t region, uint64_t offset, const struct run *r, long *iters)
{
    struct region_access req, rep;
    uint32_t req_size = write ? HDR_SIZE + 16 + 4 : HDR_SIZE + 16;
    uint32_t rep_size = write ? HDR_SIZE + 16 : HDR_SIZE + 16 + 4;
    uint16_t cmd = write ? CMD_REGION_WRITE : CMD_REGION_READ;
    long i = 0;

    memset(&req, 0, sizeof(req));
    req.h.cmd = cmd;
    req.h.msg_size = req_size;
    req.offset = offset;
    req.region = region;
    req.count = 4;

    double t0 = now();
    while (!done(r, i, t0)) {
        uint16_t id = next_id++;
        req.h.msg_id = id;
        if (write) {
            uint32_t v = (uint32_t)i;
            memcpy(req.data, &v, 4);
        }
        send_all(&req, req_size, -1);
        size_t n = recv_reply(&rep, sizeof(rep), id, cmd);
        if (n != rep_size || rep.offset != offset || rep.region != region || rep.count != 4) {
            fprintf(stderr, "vfio-user-client: bad %s reply (size %zu)\n",
                    write ? "REGION_WRITE" : "REGION_READ", n);
            exit(3);
        }
        i++;
    }
    *iters = i;
    return now() - t0;
}

static double bench_dma(size_t size, const struct run *r, long *iters)
{
    int fd = memfd_create("vfio-user-bench", MFD_CLOEXEC);
    if (fd < 0 || ftruncate(fd, (off_t)size) < 0) {
        die_errno("memfd");
    }
    struct dma_map map;
    struct dma_unmap unmap, rep;
    char rbuf[256];
    long i = 0;

    memset(&map, 0, sizeof(map));
    map.h.cmd = CMD_DMA_MAP;
    map.h.msg_size = sizeof(map);
    map.argsz = 32;
    map.flags = 3; /* READ | WRITE */
    map.address = 0x100000000ull;
    map.size = size;
    memset(&unmap, 0, sizeof(unmap));
    unmap.h.cmd = CMD_DMA_UNMAP;
    unmap.h.msg_size = sizeof(unmap);
    unmap.argsz = 24;
    unmap.address = map.address;
    unmap.size = size;

    double t0 = now();
    while (!done(r, i, t0)) {
        uint16_t id = next_id++;
        map.h.msg_id = id;
        send_all(&map, sizeof(map), fd);
        recv_reply(rbuf, sizeof(rbuf), id, CMD_DMA_MAP);
        id = next_id++;
        unmap.h.msg_id = id;
        send_all(&unmap, sizeof(unmap), -1);
        size_t n = recv_reply(rbuf, sizeof(rbuf), id, CMD_DMA_UNMAP);
        if (n >= sizeof(rep)) {
            memcpy(&rep, rbuf, sizeof(rep));
            if (rep.address != unmap.address || rep.size != unmap.size) {
                die("DMA_UNMAP reply does not echo the request");
            }
        }
        i++;
    }
    *iters = i;
    close(fd);
    return now() - t0;
}

static void report(const char *name, const char *unit, long iters, double secs, const char *placement)
{
    printf("{\"bench\":\"%s\",\"unit\":\"%s\",\"value\":%.0f,\"placement\":\"%s\",\"iterations\":%ld}\n",
           name, unit, (double)iters / secs, placement, iters);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    const char *placement = "unpinned";
    uint32_t region = 0;
    uint64_t offset = 0;
    size_t dma_size = 0;
    const char *ops = "both";
    double idle = 0;
    double start_at = 0;
    int cpu = -1;
    struct run r = { .count = 0, .seconds = 2.0 };

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (a[0] != '-') {
            path = a;
            continue;
        }
        if (v == NULL) {
            die("option needs a value");
        }
        if (!strcmp(a, "--region")) {
            region = (uint32_t)strtoul(v, NULL, 0);
        } else if (!strcmp(a, "--offset")) {
            offset = strtoull(v, NULL, 0);
        } else if (!strcmp(a, "--count")) {
            r.count = strtol(v, NULL, 0);
        } else if (!strcmp(a, "--seconds")) {
            r.seconds = strtod(v, NULL);
        } else if (!strcmp(a, "--cpu")) {
            cpu = atoi(v);
        } else if (!strcmp(a, "--placement")) {
            placement = v;
        } else if (!strcmp(a, "--dma")) {
            dma_size = strtoull(v, NULL, 0);
        } else if (!strcmp(a, "--ops")) {
            ops = v;
        } else if (!strcmp(a, "--start-at")) {
            start_at = strtod(v, NULL);
        } else if (!strcmp(a, "--idle")) {
            idle = strtod(v, NULL);
        } else {
            fprintf(stderr, "vfio-user-client: unknown option %s\n", a);
            return 1;
        }
        i++;
    }
    if (path == NULL) {
        fprintf(stderr, "usage: %s SOCKET [--region R] [--offset O] [--count N] [--seconds S] "
                        "[--cpu N] [--placement NAME] [--dma SIZE]\n", argv[0]);
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
        die("socket path too long");
    }
    strcpy(addr.sun_path, path);
    sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock < 0 || connect(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        die_errno("connect");
    }

    negotiate();

    long iters;
    if (start_at > 0) {
        struct timespec rt;
        clock_gettime(CLOCK_REALTIME, &rt);
        double wait = start_at / 1000.0 - ((double)rt.tv_sec + (double)rt.tv_nsec / 1e9);
        if (wait > 0) {
            struct timespec ts = { .tv_sec = (time_t)wait, .tv_nsec = (long)((wait - (double)(time_t)wait) * 1e9) };
            while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
            }
        }
    }
    if (idle > 0) {
        struct run one = { .count = 1, .seconds = 0 };
        bench_region(0, region, offset, &one, &iters);
        printf("{\"ready\":true}\n");
        fflush(stdout);
        struct timespec ts = { .tv_sec = (time_t)idle, .tv_nsec = (long)((idle - (double)(time_t)idle) * 1e9) };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
        }
        close(sock);
        return 0;
    }
    double secs;
    if (strcmp(ops, "write") != 0) {
        secs = bench_region(0, region, offset, &r, &iters);
        report("vfio_user.region_read_4", "roundtrips/s", iters, secs, placement);
    }
    if (strcmp(ops, "read") != 0) {
        secs = bench_region(1, region, offset, &r, &iters);
        report("vfio_user.region_write_4", "roundtrips/s", iters, secs, placement);
    }
    if (dma_size > 0) {
        secs = bench_dma(dma_size, &r, &iters);
        report("vfio_user.dma_map_unmap", "pairs/s", iters, secs, placement);
    }
    close(sock);
    return 0;
}
