// Test support: a small emulated PCI device (a memory BAR, a sparse-mmap BAR over a memfd, a typed device region,
// MSI with 4 vectors, ERR) and helpers to issue device ioctls through an open device file.
import { close, memfdCreate } from '../native/index.js';
import { deviceFileCheckAccess } from '../vfio/device-file.js';
import type { VfioDeviceFile } from '../vfio/device-file.js';
import { allocDevice, opsOf, putVfioDevice } from '../vfio/vfio-device.js';
import { registerEmulatedIommuDev, unregisterGroupDev } from '../vfio/registration.js';
import { openDeviceFile, deviceFileRelease } from '../vfio/device-file.js';
import type { VfioDeviceOps } from '../vfio/vfio-ops.js';
import { makeHost } from '../vfio/recording-ops.test-kit.js';
import { VFIO_REGION_INFO_FLAG_READ, VFIO_REGION_INFO_FLAG_WRITE } from '../uapi/region-info.js';
import { VFIO_REGION_TYPE_GFX, VFIO_REGION_SUBTYPE_GFX_EDID, vfioRegionCapType } from '../uapi/region-caps.js';
import { VfioPciEmuDevice, pciEmuInit, pciEmuSetRegion } from './pci-emu-device.js';
import { pciEmuOps } from './pci-emu-ops.js';

export const RW = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
export const MMAP_BAR_SIZE = 16384;

export class PciEmuTestDev extends VfioPciEmuDevice {
  readonly bar0 = new Uint8Array(16);
  memfd = -1;
  resets = 0;
}

export const testOps: VfioDeviceOps<PciEmuTestDev> = Object.freeze({
  ...pciEmuOps,
  name: 'pci-emu-test',
  init(dev: PciEmuTestDev) {
    pciEmuInit(dev, {
      ids: { vendor: 0x1b36, device: 0x1234, classCode: 0xff00 },
      bars: [
        { index: 0, kind: 'mem32', size: 16 },
        { index: 2, kind: 'mem64', size: MMAP_BAR_SIZE },
      ],
      capabilities: (b) => ({ msi: b.addMsi({ vectors: 4, perVectorMask: true }) }),
      err: true,
      onReset: () => {
        dev.resets++;
        dev.bar0.fill(0);
      },
    });
    pciEmuSetRegion(dev, 0, {
      size: 16,
      flags: RW,
      read: (off, buf) => buf.set(dev.bar0.subarray(off, off + buf.length)),
      write: (off, buf) => dev.bar0.set(buf, off),
    });
    dev.memfd = memfdCreate('pci-emu-test', MMAP_BAR_SIZE);
    pciEmuSetRegion(dev, 2, {
      size: MMAP_BAR_SIZE,
      flags: RW,
      read: (_off, buf) => buf.fill(0xee),
      mmap: { fd: dev.memfd, offset: 0, areas: [{ offset: 4096n, size: 8192n }] },
    });
    pciEmuSetRegion(dev, 9, {
      size: 512,
      flags: VFIO_REGION_INFO_FLAG_READ,
      read: (off, buf) => buf.fill(off & 0xff),
      caps: [vfioRegionCapType(VFIO_REGION_TYPE_GFX, VFIO_REGION_SUBTYPE_GFX_EDID)],
    });
  },
  release(dev: PciEmuTestDev) {
    if (dev.memfd >= 0) close(dev.memfd);
  },
});

/** ioctl(2) on a device file (the uAPI layer's path, without it). */
export function fileIoctl(df: VfioDeviceFile, cmd: number, arg: Uint8Array): number {
  deviceFileCheckAccess(df);
  const ops = opsOf(df.device);
  if (ops.ioctl === undefined) throw new Error('no ioctl');
  const ret = ops.ioctl(df.device, cmd, arg);
  if (typeof ret !== 'number') throw new Error('a sleeping ioctl: not for this kit');
  return ret;
}

/** A registered, opened PciEmuTestDev; `done` closes, unregisters and puts it. */
export function openTestDev(): { dev: PciEmuTestDev; df: VfioDeviceFile; done: () => Promise<void> } {
  const { parent } = makeHost();
  const dev = allocDevice(PciEmuTestDev, parent, testOps);
  registerEmulatedIommuDev(dev);
  const df = openDeviceFile(dev);
  return {
    dev,
    df,
    done: async () => {
      deviceFileRelease(df);
      await unregisterGroupDev(dev);
      putVfioDevice(dev);
    },
  };
}
