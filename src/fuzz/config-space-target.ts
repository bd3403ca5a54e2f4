// The PCI config-space write path as a fuzz target: reads and writes of any offset, size and value through a
// vfio-pci device file's CONFIG region (vfio_pci_config.c's permission tables, BAR sizing, MSI/MSI-X, PCIe and
// extended capabilities) on the PCIe DMA engine, each input from a VFIO_DEVICE_RESET. The errnos of the uAPI are
// answers; any other error, or vendor/device ids that read back changed, is a finding.
import { PcieDmaEngine } from '../hw/pci/dma-engine.js';
import { VfioError } from '../uapi/errno.js';
import { VFIO_DEVICE_RESET } from '../uapi/ioctl.js';
import { VFIO_PCI_CONFIG_REGION_INDEX, vfioPciIndexToOffset } from '../uapi/region-info.js';
import { openGroupPath, pciBed } from '../drivers/vfio-pci/vfio-pci.test-kit.js';
import type { PciBed } from '../drivers/vfio-pci/vfio-pci.test-kit.js';
import { Finding } from './finding.js';
import type { FuzzTarget } from './finding.js';

const CONFIG = Number(vfioPciIndexToOffset(VFIO_PCI_CONFIG_REGION_INDEX));

interface Bed {
  readonly bed: PciBed;
  readonly device: number;
  readonly ids: number;
}

let state: Bed | null = null;

function theBed(): Bed {
  if (state === null) {
    const bed = pciBed({ devices: [{ device: 1, hw: new PcieDmaEngine() }] });
    const { device } = openGroupPath(bed, bed.bind('0000:00:01.0'));
    const b = new Uint8Array(4);
    bed.proc.pread(device, b, CONFIG);
    state = { bed, device, ids: Buffer.from(b).readUInt32LE(0) };
  }
  return state;
}

/** One access per 8 bytes of input: op (bit 0 write), size byte (1, 2, 4, else odd sizes), offset u16, value u32. */
function* accesses(input: Uint8Array): Generator<{ write: boolean; size: number; offset: number; value: number }> {
  const dv = new DataView(input.buffer, input.byteOffset, input.byteLength);
  for (let at = 0; at + 8 <= input.length; at += 8) {
    const sizes = [1, 2, 4, 4, 2, 1, 3, 8];
    yield { write: (dv.getUint8(at) & 1) === 1, size: sizes[dv.getUint8(at + 1) & 7] ?? 4, offset: dv.getUint16(at + 2, true) & 0x1fff, value: dv.getUint32(at + 4, true) };
  }
}

export const configSpaceTarget: FuzzTarget = {
  name: 'pci-config-space',
  maxLen: 512,
  seeds: () => {
    const op = (write: boolean, size: number, offset: number, value: number): number[] => {
      const b = Buffer.alloc(8);
      b.writeUInt8(write ? 1 : 0, 0);
      b.writeUInt8([1, 2, 4].indexOf(size), 1);
      b.writeUInt16LE(offset, 2);
      b.writeUInt32LE(value >>> 0, 4);
      return [...b];
    };
    return [
      // BAR sizing, command register, MSI-X enable, a PCIe control write, an extended capability read.
      Uint8Array.from([...op(true, 4, 0x10, 0xffffffff), ...op(false, 4, 0x10, 0), ...op(true, 2, 0x04, 0x0406)]),
      Uint8Array.from([...op(false, 1, 0x34, 0), ...op(true, 2, 0x42, 0x8000), ...op(false, 4, 0x100, 0)]),
      Uint8Array.from([...op(true, 4, 0x3c, 0xffffffff), ...op(true, 1, 0x0f, 0xff), ...op(false, 2, 0xffe, 0)]),
    ];
  },
  run(input) {
    const { bed, device, ids } = theBed();
    try {
      bed.proc.ioctl(device, VFIO_DEVICE_RESET);
      for (const a of accesses(input)) {
        const buf = Buffer.alloc(a.size);
        try {
          if (a.write) {
            for (let i = 0; i < a.size; i++) buf[i] = (a.value >>> (8 * (i % 4))) & 0xff;
            bed.proc.pwrite(device, buf, CONFIG + a.offset);
          } else {
            bed.proc.pread(device, buf, CONFIG + a.offset);
          }
        } catch (err) {
          if (!(err instanceof VfioError)) throw err;
        }
      }
      const b = Buffer.alloc(4);
      bed.proc.pread(device, b, CONFIG);
      if (b.readUInt32LE(0) !== ids) throw new Error(`vendor/device ids read 0x${b.readUInt32LE(0).toString(16)} after the writes`);
      bed.proc.ioctl(device, VFIO_DEVICE_RESET);
    } catch (err) {
      throw new Finding('pci-config-space', err);
    }
  },
  async close() {
    const s = state;
    state = null;
    await s?.bed.done();
  },
};
