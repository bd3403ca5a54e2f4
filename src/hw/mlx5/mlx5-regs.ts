// The register, descriptor and command numbers of the simulated ConnectX function (a ConnectX-like VF's BAR0 work
// queues, and the firmware commands of include/linux/mlx5/mlx5_ifc.h the vfio variant driver issues through the PF).
// The layout of BAR0 and of the descriptors is this model's own; the command names and op_mods are the kernel's.

export const PCI_VENDOR_ID_MELLANOX = 0x15b3;
/** ConnectX-6 Dx, a PF with SR-IOV. */
export const MLX5_PF_DEVICE_ID = 0x101d;
/** ConnectX Family mlx5Gen Virtual Function (the id mlx5_vfio_pci's table names). */
export const MLX5_VF_DEVICE_ID = 0x101e;
/** Ethernet controller. */
export const MLX5_CLASS_CODE = 0x0200;

// ---- VF BAR0: global registers (32-bit, aligned dword access) ------------------------------------------------
export const MLX5_REG_ID = 0x00;
/** Per-queue "completion written" bits (bit q, write 1 to clear) and ERROR (bit 31, write 1 to clear). */
export const MLX5_REG_STATUS = 0x04;
/** Per-queue bits: a completion on queue q sends MSI-X vector q. */
export const MLX5_REG_INTR_MASK = 0x08;
export const MLX5_REG_NUM_QUEUES = 0x0c;
export const MLX5_REG_DEVMEM_SIZE = 0x10;
export const MLX5_REG_ERR_ADDR_LO = 0x18;
export const MLX5_REG_ERR_ADDR_HI = 0x1c;
/** Bytes the device moved (u64, read-only). */
export const MLX5_REG_BYTES_LO = 0x20;
export const MLX5_REG_BYTES_HI = 0x24;

export const MLX5_ID_VALUE = 0x35584c4d; // "MLX5"
export const MLX5_STATUS_ERROR = 0x80000000;

// ---- VF BAR0: work queue q at MLX5_WQ_BASE + q * MLX5_WQ_STRIDE --------------------------------------------------
export const MLX5_WQ_BASE = 0x100;
export const MLX5_WQ_STRIDE = 0x40;
export const MLX5_WQ_RING_LO = 0x00;
export const MLX5_WQ_RING_HI = 0x04;
/** log2 of the ring's entries (0..MLX5_WQ_MAX_LOG_SIZE); the completion ring has as many. */
export const MLX5_WQ_LOG_SIZE = 0x08;
/** The doorbell: the producer index (a free-running u32) of the descriptors posted. */
export const MLX5_WQ_DOORBELL = 0x0c;
/** The consumer index: descriptors executed (read-only). */
export const MLX5_WQ_CI = 0x10;
export const MLX5_WQ_CQ_LO = 0x14;
export const MLX5_WQ_CQ_HI = 0x18;
/** Completions written (read-only). */
export const MLX5_WQ_CQ_PI = 0x1c;
/** How many more descriptors the queue may execute; 0xffffffff (the reset value) is no limit. Writing it kicks the queue. */
export const MLX5_WQ_CREDITS = 0x20;
export const MLX5_WQ_MAX_LOG_SIZE = 12;
export const MLX5_CREDITS_UNLIMITED = 0xffffffff;

// ---- descriptors (32 bytes, little-endian) and completions (16 bytes) -------------------------------------------
export const MLX5_WQE_SIZE = 32;
export const MLX5_WQE_OPCODE = 0;
export const MLX5_WQE_LEN = 4;
export const MLX5_WQE_SRC = 8;
export const MLX5_WQE_DST = 16;
/** FILL: the pattern; TO/FROM_DEVMEM: the device memory offset. */
export const MLX5_WQE_IMM = 24;
export const MLX5_WQE_TAG = 28;
export const MLX5_OP_COPY = 1;
export const MLX5_OP_FILL = 2;
/** Sum of the source bytes (mod 2^32) into the completion's result. */
export const MLX5_OP_CSUM = 3;
/** Guest memory -> device memory at imm. */
export const MLX5_OP_TO_DEVMEM = 4;
/** Device memory at imm -> guest memory. */
export const MLX5_OP_FROM_DEVMEM = 5;
/** The longest transfer one descriptor may do. */
export const MLX5_WQE_MAX_LEN = 1 << 20;

export const MLX5_CQE_SIZE = 16;
export const MLX5_CQE_TAG = 0;
export const MLX5_CQE_STATUS = 4;
export const MLX5_CQE_RESULT = 8;
/** The completion's sequence number (free-running). */
export const MLX5_CQE_SEQ = 12;
export const MLX5_CQE_OK = 0;
export const MLX5_CQE_DMA_FAULT = 1;
export const MLX5_CQE_BAD_OP = 2;

// ---- firmware commands (include/linux/mlx5/mlx5_ifc.h) -----------------------------------------------------------
export const MLX5_CMD_OP_QUERY_HCA_CAP = 0x100;
export const MLX5_CMD_OP_SUSPEND_VHCA = 0xb04;
export const MLX5_CMD_OP_RESUME_VHCA = 0xb05;
export const MLX5_CMD_OP_QUERY_VHCA_MIGRATION_STATE = 0xb06;
export const MLX5_CMD_OP_SAVE_VHCA_STATE = 0xb07;
export const MLX5_CMD_OP_LOAD_VHCA_STATE = 0xb08;
export const MLX5_CMD_OP_CREATE_GENERAL_OBJECT = 0xa00;
export const MLX5_CMD_OP_MODIFY_GENERAL_OBJECT = 0xa01;
export const MLX5_CMD_OP_DESTROY_GENERAL_OBJECT = 0xa03;

export const MLX5_SUSPEND_VHCA_IN_OP_MOD_SUSPEND_INITIATOR = 0;
export const MLX5_SUSPEND_VHCA_IN_OP_MOD_SUSPEND_RESPONDER = 1;
export const MLX5_RESUME_VHCA_IN_OP_MOD_RESUME_RESPONDER = 0;
export const MLX5_RESUME_VHCA_IN_OP_MOD_RESUME_INITIATOR = 1;

export const MLX5_PAGE_TRACK_STATE_TRACKING = 0;
export const MLX5_PAGE_TRACK_STATE_REPORTING = 1;
export const MLX5_PAGE_TRACK_STATE_ERROR = 2;
