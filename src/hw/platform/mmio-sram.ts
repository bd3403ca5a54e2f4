// On-chip SRAM (`mmio-sram`, Documentation/devicetree/bindings/sram/sram.yaml): one window of plain memory, backed
// by a memfd so a driver can map it (the RAM-like window a VFIO region may mmap), no interrupts, and no reset
// handler in drivers/vfio/platform/reset (vfio-platform refuses it unless reset_required is off). Its contents
// survive a reset, as RAM does.
import { close, memfdCreate, mmap, munmap } from '../../native/index.js';
import { VfioError } from '../../uapi/errno.js';
import type { IrqLine } from './irq-line.js';
import type { MmioHw, MmioMemory } from './mmio-device.js';

export class MmioSram implements MmioHw {
  readonly model = 'mmio-sram';
  private fd: number;
  private mem: ArrayBuffer;
  private view: DataView;

  constructor(readonly size: number) {
    if (!Number.isSafeInteger(size) || size <= 0 || size % 4096 !== 0) throw new VfioError('EINVAL', `sram size ${size}: a positive multiple of 4 KiB`);
    this.fd = memfdCreate('mmio-sram', size);
    try {
      this.mem = mmap(this.fd, 0, size, true);
    } catch (err) {
      close(this.fd); // balances memfdCreate
      throw err;
    }
    this.view = new DataView(this.mem);
  }

  connectIrqs(_lines: readonly IrqLine[]): void {}

  reset(): void {}

  memory(window: number): MmioMemory | null {
    return window === 0 && this.fd >= 0 ? { fd: this.fd, offset: 0 } : null;
  }

  read(_window: number, offset: number, size: 1 | 2 | 4): number {
    if (this.fd < 0 || offset + size > this.view.byteLength) return 0xffffffff >>> (32 - 8 * size);
    return size === 4 ? this.view.getUint32(offset, true) : size === 2 ? this.view.getUint16(offset, true) : this.view.getUint8(offset);
  }

  write(_window: number, offset: number, size: 1 | 2 | 4, value: number): void {
    if (this.fd < 0 || offset + size > this.view.byteLength) return;
    if (size === 4) this.view.setUint32(offset, value >>> 0, true);
    else if (size === 2) this.view.setUint16(offset, value & 0xffff, true);
    else this.view.setUint8(offset, value & 0xff);
  }

  /** Unmaps and closes the backing (a mapping a user still holds keeps the memory alive). Idempotent. */
  close(): void {
    if (this.fd < 0) return;
    munmap(this.mem);
    close(this.fd); // balances memfdCreate in the constructor
    this.fd = -1;
    this.view = new DataView(new ArrayBuffer(0));
  }
}
