// mdpy's device definition (samples/vfio-mdev/mdpy-defs.h and the constants of mdpy.c): PCI ids, the vendor
// capability carrying the framebuffer format and size, the display region and the three types.
import { DRM_FORMAT_XRGB8888 } from '../../emu/framebuffer-png.js';
import type { MdevTypeSpec } from '../../mdev/mdev-objects.js';

/** PCI_VENDOR_ID_REDHAT. */
export const MDPY_PCI_VENDOR_ID = 0x1b36;
export const MDPY_PCI_DEVICE_ID = 0x000f;
/** PCI_SUBVENDOR_ID_REDHAT_QUMRANET. */
export const MDPY_PCI_SUBVENDOR_ID = 0x1af4;
/** PCI_SUBDEVICE_ID_QEMU. */
export const MDPY_PCI_SUBDEVICE_ID = 0x1100;

/** The vendor capability: id, next, length 0x10, then format, width and height dwords. */
export const MDPY_VENDORCAP_OFFSET = 0x40;
export const MDPY_VENDORCAP_SIZE = 0x10;
export const MDPY_FORMAT_OFFSET = MDPY_VENDORCAP_OFFSET + 0x04;
export const MDPY_WIDTH_OFFSET = MDPY_VENDORCAP_OFFSET + 0x08;
export const MDPY_HEIGHT_OFFSET = MDPY_VENDORCAP_OFFSET + 0x0c;

/** The region QUERY_GFX_PLANE names: an alias of BAR0. */
export const MDPY_DISPLAY_REGION = 16;
/** The mdev driver's max_instances (module parameter `count`). */
export const MDPY_MAX_DEVICES = 4;

export interface MdpyType extends MdevTypeSpec {
  readonly sysfsName: 'vga' | 'xga' | 'hd';
  readonly prettyName: string;
  /** DRM fourcc. */
  readonly format: number;
  readonly bytepp: number;
  readonly width: number;
  readonly height: number;
}

export const MDPY_TYPES: readonly MdpyType[] = Object.freeze([
  Object.freeze({ sysfsName: 'vga', prettyName: 'mdpy-vga', format: DRM_FORMAT_XRGB8888, bytepp: 4, width: 640, height: 480 }),
  Object.freeze({ sysfsName: 'xga', prettyName: 'mdpy-xga', format: DRM_FORMAT_XRGB8888, bytepp: 4, width: 1024, height: 768 }),
  Object.freeze({ sysfsName: 'hd', prettyName: 'mdpy-hd', format: DRM_FORMAT_XRGB8888, bytepp: 4, width: 1920, height: 1080 }),
] as const);

/** roundup_pow_of_two(width * height * bytepp): BAR0's size. */
export function mdpyFbSize(type: MdpyType): number {
  const n = type.width * type.height * type.bytepp;
  return 2 ** Math.ceil(Math.log2(n));
}
