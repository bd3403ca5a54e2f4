// A driver that lives only in the tests: "scratchpad", an emulated PCI device (1234:5ca7) whose BAR0 is 4 KiB of
// RAM that starts with the `greeting` its config entry gives. It is written against the package's public entry
// point alone, exactly as the README's "Writing a driver" recipe says, and served by `vfio-ts serve --driver`.
import { z } from 'zod';
import {
  MdevDevice,
  VFIO_REGION_INFO_FLAG_READ,
  VFIO_REGION_INFO_FLAG_WRITE,
  VfioError,
  VfioPciEmuDevice,
  allocDevice,
  mdevRegisterSample,
  mdevVfioDriver,
  parseParams,
  pciEmuInit,
  pciEmuOps,
  pciEmuSetRegion,
  sampleModule,
} from '../../../index.js';
import type { Host, VfioDeviceOps, VfioDriverDescriptor } from '../../../index.js';

const PAD_SIZE = 4096;

/** What a scratchpad is created with (the config entry's `greeting`, carried by its mdev). */
const paramsSchema = z.strictObject({ greeting: z.string().max(64).optional() });

class ScratchpadState extends VfioPciEmuDevice {
  readonly pad = new Uint8Array(PAD_SIZE);
  greeting = '';

  /** Power-on contents: the greeting, then zeroes. */
  fill(): void {
    this.pad.fill(0);
    this.pad.set(new TextEncoder().encode(this.greeting));
  }
}

const ops: VfioDeviceOps<ScratchpadState> = Object.freeze({
  ...pciEmuOps,
  name: 'vfio-scratchpad',
  /** Finds its params through the mdev it drives, builds config space and BAR0. */
  init(dev: ScratchpadState) {
    const mdev = dev.dev;
    if (!(mdev instanceof MdevDevice)) throw new VfioError('EINVAL', 'a scratchpad drives an mdev');
    dev.greeting = parseParams(paramsSchema, mdev.params, 'scratchpad').greeting ?? '';
    pciEmuInit(dev, {
      ids: { vendor: 0x1234, device: 0x5ca7, classCode: 0x0500 },
      interruptPin: 0,
      bars: [{ index: 0, kind: 'mem32', size: PAD_SIZE }],
      onReset: () => dev.fill(),
    });
    pciEmuSetRegion(dev, 0, {
      size: PAD_SIZE,
      flags: VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE,
      read: (off, buf) => buf.set(dev.pad.subarray(off, off + buf.length)),
      write: (off, buf) => dev.pad.set(buf, off),
    });
    dev.fill();
  },
  /** Nothing outside the object to give back. */
  release() {},
});

export const driver: VfioDriverDescriptor = Object.freeze({
  name: 'scratchpad',
  bus: 'mdev',
  summary: 'test driver: 4 KiB of RAM in BAR0, starting with a greeting',
  config: { shape: () => ({ greeting: paramsSchema.shape.greeting }) },
  register: (host: Host) =>
    sampleModule(
      mdevRegisterSample(
        host,
        'scratchpad',
        mdevVfioDriver({ name: 'scratchpad', maxInstances: 2, create: (mdev) => allocDevice(ScratchpadState, mdev, ops) }),
        [{ sysfsName: 'pad', prettyName: 'Scratch pad' }],
      ),
    ),
});
