// Test support: SET_IRQS argument builders and eventfd reads for the IRQ tests.
import { eventfdRead } from '../native/index.js';
import {
  encodeVfioIrqSet,
  vfioIrqSetOfBools,
  vfioIrqSetOfEventfds,
  vfioIrqSetOfNone,
} from '../uapi/irq-set.js';
import type { VfioIrqSet } from '../uapi/irq-set.js';
import { VFIO_DEVICE_SET_IRQS } from '../uapi/ioctl.js';
import type { VfioDeviceFile } from '../vfio/device-file.js';
import { fileIoctl } from './test-device.test-kit.js';

export function setIrqs(df: VfioDeviceFile, x: VfioIrqSet): number {
  return fileIoctl(df, VFIO_DEVICE_SET_IRQS, encodeVfioIrqSet(x));
}
export const setFds = (df: VfioDeviceFile, index: number, start: number, fds: number[], action?: number): number =>
  setIrqs(df, vfioIrqSetOfEventfds(index, start, fds, action));
export const setBools = (df: VfioDeviceFile, index: number, start: number, v: boolean[], action: number): number =>
  setIrqs(df, vfioIrqSetOfBools(index, start, v, action));
export const setNone = (df: VfioDeviceFile, index: number, start: number, count: number, action: number): number =>
  setIrqs(df, vfioIrqSetOfNone(index, start, count, action));

/** How many times the eventfd was signalled since the last call (0 if never). */
export function fired(fd: number): number {
  const v = eventfdRead(fd);
  return typeof v === 'bigint' ? Number(v) : 0;
}
