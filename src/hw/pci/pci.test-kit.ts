// Test helpers for the PCI hardware layer: an in-memory DMA port with mapped windows, a recording interrupt
// sink and a recording PCI driver.
import { VfioError } from '../../uapi/errno.js';
import type { MsiMessage } from '../../pci/irq.js';
import type { PciDmaPort } from './pci-function.js';
import type { PciInterruptSink } from './function-irq.js';
import type { PciDeviceId, PciDriver } from './pci-bus-type.js';
import type { PciDev } from './pci-dev.js';

/** Guest memory as an IOMMU would expose it: only mapped windows are reachable; the rest faults (EFAULT). */
export class FakeIommuMemory implements PciDmaPort {
  private readonly windows: { iova: bigint; bytes: Uint8Array }[] = [];

  map(iova: bigint, size: number): Uint8Array {
    const bytes = new Uint8Array(size);
    this.windows.push({ iova, bytes });
    return bytes;
  }

  private window(addr: bigint, len: number): { bytes: Uint8Array; off: number } {
    for (const w of this.windows) {
      if (addr >= w.iova && addr + BigInt(len) <= w.iova + BigInt(w.bytes.length)) return { bytes: w.bytes, off: Number(addr - w.iova) };
    }
    throw new VfioError('EFAULT', `IOVA 0x${addr.toString(16)} +${len} is not mapped`);
  }

  read(addr: bigint, buf: Uint8Array): void {
    const { bytes, off } = this.window(addr, buf.length);
    buf.set(bytes.subarray(off, off + buf.length));
  }

  write(addr: bigint, buf: Uint8Array): void {
    const { bytes, off } = this.window(addr, buf.length);
    bytes.set(buf, off);
  }
}

/** Records what a function signals. */
export class RecordingSink implements PciInterruptSink {
  readonly events: string[] = [];
  readonly messages: { kind: 'msi' | 'msix'; vector: number; message: MsiMessage }[] = [];

  intx(asserted: boolean): void {
    this.events.push(`intx ${asserted ? 1 : 0}`);
  }

  msi(kind: 'msi' | 'msix', vector: number, message: MsiMessage): void {
    this.events.push(`${kind} ${vector}`);
    this.messages.push({ kind, vector, message });
  }
}

/** A PCI driver that logs probe/remove; `removeDelay` makes remove asynchronous (a driver waiting for users). */
export function recordingPciDriver(
  name: string,
  idTable: readonly PciDeviceId[],
  log: string[],
  extra: Partial<Pick<PciDriver, 'sriovConfigure'>> & { removeWait?: () => Promise<void> } = {},
): PciDriver {
  const wait = extra.removeWait;
  return {
    name,
    idTable,
    probe: (pdev: PciDev) => {
      log.push(`${name} probe ${pdev.bdf}`);
    },
    remove: (pdev: PciDev) => {
      log.push(`${name} remove ${pdev.bdf}`);
      if (wait === undefined) return undefined;
      return wait().then(() => {
        log.push(`${name} removed ${pdev.bdf}`);
      });
    },
    ...(extra.sriovConfigure !== undefined ? { sriovConfigure: extra.sriovConfigure } : {}),
  };
}

/** Little-endian dword helpers for BAR accesses. */
export function le32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return b;
}

export function readLe32(read: (out: Uint8Array) => void): number {
  const b = new Uint8Array(4);
  read(b);
  return new DataView(b.buffer).getUint32(0, true);
}
