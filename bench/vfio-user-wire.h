/* The vfio-user wire format the C benchmark programs share: command numbers, header flags and the
 * 16-byte message header (QEMU docs/interop/vfio-user.rst "Header"). */
#ifndef VFIO_USER_WIRE_H
#define VFIO_USER_WIRE_H

#include <stdint.h>

enum {
    CMD_VERSION = 1,
    CMD_DMA_MAP = 2,
    CMD_DMA_UNMAP = 3,
    CMD_REGION_READ = 9,
    CMD_REGION_WRITE = 10,
};
#define F_TYPE_MASK 0xfu
#define F_REPLY 0x1u
#define F_NO_REPLY 0x10u
#define F_ERROR 0x20u
#define HDR_SIZE 16

struct hdr {
    uint16_t msg_id;
    uint16_t cmd;
    uint32_t msg_size;
    uint32_t flags;
    uint32_t error_no;
} __attribute__((packed));

#endif
