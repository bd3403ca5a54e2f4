// Test support for the display samples: region info, region read/write through a device file, PNG decode, fd count.
import { PNG } from 'pngjs';
import { VFIO_DEVICE_GET_REGION_INFO } from '../../uapi/ioctl.js';
import { decodeVfioRegionInfo, encodeVfioRegionInfo } from '../../uapi/region-info.js';
import type { VfioRegionInfo } from '../../uapi/region-info.js';
import { deviceFileRead, deviceFileWrite } from '../../vfio/device-file.js';
import type { VfioDeviceFile } from '../../vfio/device-file.js';
import { pciEmuIndexToOffset } from '../../emu/regions.js';
import { fileIoctl } from '../../emu/test-device.test-kit.js';

/** VFIO_DEVICE_GET_REGION_INFO with `argsz`; returns the decoded struct and the whole reply buffer. */
export function regionInfo(df: VfioDeviceFile, index: number, argsz = 32): { info: VfioRegionInfo; bytes: Uint8Array } {
  const bytes = new Uint8Array(Math.max(argsz, 32));
  encodeVfioRegionInfo({ argsz, flags: 0, index, capOffset: 0, size: 0n, offset: 0n }, bytes.subarray(0, 32));
  fileIoctl(df, VFIO_DEVICE_GET_REGION_INFO, bytes);
  return { info: decodeVfioRegionInfo(bytes), bytes };
}

/** pread(2) of `length` bytes at `offset` of region `index`. */
export function readRegion(df: VfioDeviceFile, index: number, offset: number, length: number): Uint8Array {
  const buf = new Uint8Array(length);
  deviceFileRead(df, buf, pciEmuIndexToOffset(index) + offset);
  return buf;
}

/** pwrite(2) of `data` at `offset` of region `index`. */
export function writeRegion(df: VfioDeviceFile, index: number, offset: number, data: Uint8Array): void {
  deviceFileWrite(df, data, pciEmuIndexToOffset(index) + offset);
}

export function u32le(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return b;
}

export function readU32(b: Uint8Array, at = 0): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(at, true);
}

/** Decodes a PNG into width, height and RGBA bytes. */
export function decodePng(png: Buffer): { width: number; height: number; rgba: Uint8Array } {
  const img = PNG.sync.read(png);
  return { width: img.width, height: img.height, rgba: new Uint8Array(img.data) };
}

/** RGBA of pixel (x, y). */
export function pixel(img: { width: number; rgba: Uint8Array }, x: number, y: number): number[] {
  const at = (y * img.width + x) * 4;
  return [...img.rgba.subarray(at, at + 4)];
}

export { openFdCount } from '../../native/fd.test-kit.js';
