// Register numbers and identities of the simulated Intel GPU (a Kaby Lake GT2, gen9), after
// drivers/gpu/drm/i915/i915_reg.h, display/intel_display_reg_defs.h, gt/intel_gt_regs.h and i915_pvinfo.h.

export const PCI_VENDOR_ID_INTEL = 0x8086;
/** Kaby Lake GT2 "HD Graphics 630" (include/drm/i915_pciids.h INTEL_KBL_GT2_IDS). */
export const I915_KBL_GT2_DEVICE_ID = 0x5912;
export const I915_GRAPHICS_VER = 9;

/** BAR0 (GTTMMADR): registers in the lower half, the global GTT in the upper half (gen8+). */
export const I915_GTTMMADR_SIZE = 16 << 20;
export const I915_MMIO_SIZE = 2 << 20;
export const I915_GTT_OFFSET = 8 << 20;
/** One gen8 GTT entry (gen8_pte_t) maps one 4 KiB page of graphics memory. */
export const I915_GTT_PAGE_SIZE = 4096;
export const I915_GTT_PTE_SIZE = 8;
/** BAR2 (GMADR) is the aperture: the CPU-mappable low part of graphics memory. */
export const I915_GMADR_BAR = 2;

/** Gen6+ fence registers: 64 bits each, from FENCE_REG_GEN6_LO(0). */
export const FENCE_REG_GEN6_LO = 0x100000;
export const I915_MAX_FENCES = 32;

/** GEN8_MASTER_IRQ and the display engine's per-pipe interrupt registers. */
export const GEN8_MASTER_IRQ = 0x44200;
export const GEN8_MASTER_IRQ_CONTROL = 1 << 31;
export const GEN8_DE_PIPE_A_IRQ = 1 << 16;
export const GEN8_DE_PIPE_ISR = (pipe: number): number => 0x44400 + 0x10 * pipe;
export const GEN8_DE_PIPE_IMR = (pipe: number): number => 0x44404 + 0x10 * pipe;
export const GEN8_DE_PIPE_IIR = (pipe: number): number => 0x44408 + 0x10 * pipe;
export const GEN8_DE_PIPE_IER = (pipe: number): number => 0x4440c + 0x10 * pipe;
export const GEN9_PIPE_PLANE1_FLIP_DONE = 1 << 3;

/** Pipes A, B, C; a pipe's registers are 0x1000 apart. */
export const I915_NUM_PIPES = 3;
export const PIPECONF = (pipe: number): number => 0x70008 + 0x1000 * pipe;
export const PIPECONF_ENABLE = 1 << 31;
/** PIPESRC: (width - 1) << 16 | (height - 1). */
export const PIPESRC = (pipe: number): number => 0x6001c + 0x1000 * pipe;

/** Skylake universal plane 1 (the primary plane) of a pipe. */
export const PLANE_CTL = (pipe: number): number => 0x70180 + 0x1000 * pipe;
export const PLANE_STRIDE = (pipe: number): number => 0x70188 + 0x1000 * pipe;
export const PLANE_POS = (pipe: number): number => 0x7018c + 0x1000 * pipe;
export const PLANE_SIZE = (pipe: number): number => 0x70190 + 0x1000 * pipe;
export const PLANE_SURF = (pipe: number): number => 0x7019c + 0x1000 * pipe;
export const PLANE_OFFSET = (pipe: number): number => 0x701a4 + 0x1000 * pipe;
export const PLANE_CTL_ENABLE = 1 << 31;
export const PLANE_CTL_FORMAT_MASK = 0xf << 24;
export const PLANE_CTL_FORMAT_XRGB_8888 = 0x4 << 24;
export const PLANE_CTL_FORMAT_XRGB_2101010 = 0x2 << 24;
export const PLANE_CTL_FORMAT_RGB_565 = 0xe << 24;
export const PLANE_CTL_ORDER_RGBX = 1 << 20;
export const PLANE_CTL_TILED_MASK = 0x7 << 10;
/** PLANE_SURF's address bits: 4 KiB aligned graphics-memory address. */
export const PLANE_SURF_ADDR_MASK = 0xfffff000;

/** The GVT-g shared page a guest i915 probes to learn it runs on a vGPU (i915_pvinfo.h struct vgt_if). */
export const VGT_PVINFO_PAGE = 0x78000;
export const VGT_PVINFO_SIZE = 0x1000;
export const VGT_MAGIC = 0x4776544776544776n;
export const VGT_VERSION_MAJOR = 1;
export const VGT_VERSION_MINOR = 0;
export const VGT_CAPS_FULL_48BIT_PPGTT = 1 << 2;
export const VGT_CAPS_HWSP_EMULATION = 1 << 3;
export const VGT_CAPS_HUGE_GTT = 1 << 4;
/** Offsets inside the PVINFO page. */
export const VGTIF = Object.freeze({
  magic: 0x0,
  versionMajor: 0x8,
  versionMinor: 0xa,
  vgtId: 0xc,
  vgtCaps: 0x10,
  mappableBase: 0x40,
  mappableSize: 0x44,
  nonmappableBase: 0x48,
  nonmappableSize: 0x4c,
  fenceNum: 0x50,
  displayReady: 0x804,
  g2vNotify: 0x818,
  cursorXHot: 0x830,
  cursorYHot: 0x834,
});

/** DRM fourcc codes (include/uapi/drm/drm_fourcc.h). */
const fourcc = (s: string): number => (s.charCodeAt(0) | (s.charCodeAt(1) << 8) | (s.charCodeAt(2) << 16) | (s.charCodeAt(3) << 24)) >>> 0;
export const DRM_FORMAT_XRGB8888 = fourcc('XR24');
export const DRM_FORMAT_XBGR8888 = fourcc('XB24');
export const DRM_FORMAT_XRGB2101010 = fourcc('XR30');
export const DRM_FORMAT_RGB565 = fourcc('RG16');
