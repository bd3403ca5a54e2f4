// A PCI function's config space with writable and write-1-to-clear masks (the model of QEMU hw/pci/pci.c).

import { VfioError, check } from '../uapi/errno.js';
import {
  PCI_CACHE_LINE_SIZE,
  PCI_CFG_SPACE_EXP_SIZE,
  PCI_CFG_SPACE_SIZE,
  PCI_CLASS_DEVICE,
  PCI_CLASS_PROG,
  PCI_COMMAND,
  PCI_COMMAND_INTX_DISABLE,
  PCI_COMMAND_IO,
  PCI_COMMAND_MASTER,
  PCI_COMMAND_MEMORY,
  PCI_COMMAND_PARITY,
  PCI_COMMAND_SERR,
  PCI_DEVICE_ID,
  PCI_HEADER_TYPE,
  PCI_INTERRUPT_LINE,
  PCI_INTERRUPT_PIN,
  PCI_REVISION_ID,
  PCI_STATUS,
  PCI_STATUS_ERROR_BITS,
  PCI_SUBSYSTEM_ID,
  PCI_SUBSYSTEM_VENDOR_ID,
  PCI_VENDOR_ID,
} from '../uapi/pci-regs.js';

/** Access widths a guest may use on config space. */
export type PciAccessSize = 1 | 2 | 4;

/**
 * A device-virtualized dword (a BAR, say). Offsets handed to the hook are dword-aligned; partial
 * accesses arrive as the whole dword plus a bit mask of the bytes the guest actually wrote.
 */
export interface PciConfigHook {
  /** Returns the dword's current value (unsigned). */
  read(): number;
  /** Applies a guest write: only the bits set in `mask` were written. */
  write(value: number, mask: number): void;
}

/** Called after a guest write touched [offset, offset + length) of a watched range. */
export type PciConfigWatcher = (offset: number, length: number) => void;

/** The identity fields of a type 0 header. */
export interface PciIds {
  vendor: number;
  device: number;
  subVendor?: number;
  subDevice?: number;
  revision?: number;
  /** Base class << 8 | sub class, e.g. PCI_CLASS_COMMUNICATION_SERIAL (0x0700). */
  classCode: number;
  /** Programming interface (byte 0x09). */
  progIf?: number;
  headerType?: number;
}

interface Watch {
  start: number;
  end: number;
  cb: PciConfigWatcher;
}

const isU = (v: number, bits: number): boolean => Number.isInteger(v) && v >= 0 && v < 2 ** bits;

/**
 * The bytes of a PCI function's configuration space. Guest accesses (`read`/`write`) honour the
 * per-byte writable and write-1-to-clear masks and hooks; device-side setup (`set*`/`get*`)
 * sees the raw bytes. Undefined registers read 0 and ignore writes, as hardware does.
 */
export class PciConfigSpace {
  readonly size: number;
  /** The raw register bytes (device side). */
  readonly bytes: Uint8Array;
  /** Bits a guest write may change. */
  readonly wmask: Uint8Array;
  /** Bits a guest write of 1 clears. */
  readonly w1cmask: Uint8Array;
  private readonly view: DataView;
  private readonly hooks = new Map<number, PciConfigHook>();
  private readonly watches: Watch[] = [];

  /**
   * `size` is 256 for conventional PCI or 4096 for PCI Express. The standard type 0 header
   * masks are installed: COMMAND's IO/MEMORY/MASTER/PARITY/SERR/INTX_DISABLE, cache line
   * size and interrupt line are writable; STATUS's error bits are write-1-to-clear.
   */
  constructor(size: number = PCI_CFG_SPACE_SIZE) {
    check(size === PCI_CFG_SPACE_SIZE || size === PCI_CFG_SPACE_EXP_SIZE, 'EINVAL', `config space size ${size}`);
    this.size = size;
    this.bytes = new Uint8Array(size);
    this.wmask = new Uint8Array(size);
    this.w1cmask = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
    this.setWritable(
      PCI_COMMAND,
      2,
      PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_PARITY | PCI_COMMAND_SERR |
        PCI_COMMAND_INTX_DISABLE,
    );
    this.setW1c(PCI_STATUS, 2, PCI_STATUS_ERROR_BITS);
    this.setWritable(PCI_CACHE_LINE_SIZE, 1, 0xff);
    this.setWritable(PCI_INTERRUPT_LINE, 1, 0xff);
  }

  // ---- guest side ----------------------------------------------------------------------

  /** A guest read of 1, 2 or 4 bytes at any offset inside the space (little-endian). */
  read(offset: number, size: PciAccessSize): number {
    this.checkAccess(offset, size);
    let value = 0;
    for (let i = size - 1; i >= 0; i--) value = value * 256 + this.readByte(offset + i);
    return value;
  }

  /** A guest write of 1, 2 or 4 bytes; read-only bits are silently kept, w1c bits cleared by 1s. */
  write(offset: number, size: PciAccessSize, value: number): void {
    this.checkAccess(offset, size);
    check(isU(value, size * 8), 'EINVAL', `value 0x${value.toString(16)} does not fit ${size} bytes`);
    const buf = new Uint8Array(size);
    for (let i = 0; i < size; i++) buf[i] = Math.floor(value / 2 ** (8 * i)) & 0xff;
    this.writeFrom(offset, buf);
  }

  /** A guest read of any length (a VFIO region read of the config region). */
  readInto(offset: number, out: Uint8Array): void {
    this.checkRange(offset, out.length);
    for (let i = 0; i < out.length; i++) out[i] = this.readByte(offset + i);
  }

  /** A guest write of any length, split into per-dword writes (hooks and watchers see each). */
  writeFrom(offset: number, data: Uint8Array): void {
    this.checkRange(offset, data.length);
    if (data.length === 0) return;
    let pos = 0;
    while (pos < data.length) {
      const at = offset + pos;
      const dword = at & ~3;
      const n = Math.min(4 - (at - dword), data.length - pos);
      this.writeInDword(at, data.subarray(pos, pos + n));
      pos += n;
    }
    this.notify(offset, data.length);
  }

  // ---- device side ---------------------------------------------------------------------

  getByte(offset: number): number {
    this.checkRange(offset, 1);
    return this.view.getUint8(offset);
  }
  getWord(offset: number): number {
    this.checkRange(offset, 2);
    return this.view.getUint16(offset, true);
  }
  getDword(offset: number): number {
    this.checkRange(offset, 4);
    return this.view.getUint32(offset, true);
  }
  setByte(offset: number, value: number): void {
    this.checkRange(offset, 1);
    this.view.setUint8(offset, value & 0xff);
  }
  setWord(offset: number, value: number): void {
    this.checkRange(offset, 2);
    this.view.setUint16(offset, value & 0xffff, true);
  }
  setDword(offset: number, value: number): void {
    this.checkRange(offset, 4);
    this.view.setUint32(offset, value >>> 0, true);
  }
  /** Sets (`on`) or clears the bits of `mask` in a 1/2/4-byte register, bypassing guest masks. */
  setBits(offset: number, size: PciAccessSize, mask: number, on: boolean): void {
    this.checkRange(offset, size);
    for (let i = 0; i < size; i++) {
      const m = Math.floor(mask / 2 ** (8 * i)) & 0xff;
      if (m === 0) continue;
      const b = this.bytes[offset + i] ?? 0;
      this.bytes[offset + i] = on ? b | m : b & ~m;
    }
  }
  /** Copies raw bytes in (device side; e.g. a vendor capability payload). */
  setBytes(offset: number, data: Uint8Array): void {
    this.checkRange(offset, data.length);
    this.bytes.set(data, offset);
  }

  /** Makes exactly the bits of `mask` guest-writable in a 1/2/4-byte register. */
  setWritable(offset: number, size: PciAccessSize, mask: number): void {
    this.setMask(this.wmask, offset, size, mask);
  }
  /** Makes exactly the bits of `mask` write-1-to-clear in a 1/2/4-byte register. */
  setW1c(offset: number, size: PciAccessSize, mask: number): void {
    this.setMask(this.w1cmask, offset, size, mask);
  }

  /** Fills in the header's identity: vendor/device, subsystem ids, revision and class. */
  setIds(ids: PciIds): void {
    check(isU(ids.vendor, 16) && isU(ids.device, 16), 'EINVAL', 'vendor/device id must be 16-bit');
    check(isU(ids.classCode, 16), 'EINVAL', 'class code is base << 8 | sub class');
    this.setWord(PCI_VENDOR_ID, ids.vendor);
    this.setWord(PCI_DEVICE_ID, ids.device);
    this.setWord(PCI_SUBSYSTEM_VENDOR_ID, ids.subVendor ?? 0);
    this.setWord(PCI_SUBSYSTEM_ID, ids.subDevice ?? 0);
    this.setByte(PCI_REVISION_ID, ids.revision ?? 0);
    this.setByte(PCI_CLASS_PROG, ids.progIf ?? 0);
    this.setWord(PCI_CLASS_DEVICE, ids.classCode);
    this.setByte(PCI_HEADER_TYPE, ids.headerType ?? 0);
  }

  /** Sets INTERRUPT_PIN (1 = INTA# .. 4 = INTD#, 0 = none); the pin is read-only to the guest. */
  setInterruptPin(pin: number): void {
    check(Number.isInteger(pin) && pin >= 0 && pin <= 4, 'EINVAL', `interrupt pin ${pin}`);
    this.setByte(PCI_INTERRUPT_PIN, pin);
  }

  /**
   * Lets the device virtualize the dword at `offset` (4-aligned): guest reads come from
   * `hook.read` and writes go to `hook.write` instead of the byte store and masks.
   */
  hookDword(offset: number, hook: PciConfigHook): void {
    this.checkRange(offset, 4);
    check((offset & 3) === 0, 'EINVAL', `hooked dword 0x${offset.toString(16)} is not aligned`);
    check(!this.hooks.has(offset), 'EEXIST', `dword 0x${offset.toString(16)} is already hooked`);
    this.hooks.set(offset, hook);
  }

  /** Calls `cb` after every guest write that overlaps [offset, offset + length). Returns an unwatch. */
  watch(offset: number, length: number, cb: PciConfigWatcher): () => void {
    this.checkRange(offset, length);
    const w: Watch = { start: offset, end: offset + length, cb };
    this.watches.push(w);
    return () => {
      const i = this.watches.indexOf(w);
      if (i >= 0) this.watches.splice(i, 1);
    };
  }

  // ---- internals -----------------------------------------------------------------------

  private readByte(at: number): number {
    const dword = at & ~3;
    const hook = this.hooks.get(dword);
    if (hook === undefined) return this.bytes[at] ?? 0;
    return (hook.read() >>> (8 * (at - dword))) & 0xff;
  }

  /** `data` lies inside one dword starting at `at`. */
  private writeInDword(at: number, data: Uint8Array): void {
    const dword = at & ~3;
    const hook = this.hooks.get(dword);
    if (hook !== undefined) {
      let value = 0;
      let mask = 0;
      for (let i = 0; i < data.length; i++) {
        const shift = 8 * (at - dword + i);
        value |= (data[i] ?? 0) << shift;
        mask |= 0xff << shift;
      }
      hook.write(value >>> 0, mask >>> 0);
      return;
    }
    for (let i = 0; i < data.length; i++) {
      const p = at + i;
      const v = data[i] ?? 0;
      const wm = this.wmask[p] ?? 0;
      const w1c = this.w1cmask[p] ?? 0;
      const old = this.bytes[p] ?? 0;
      this.bytes[p] = ((old & ~wm) | (v & wm)) & ~(v & w1c);
    }
  }

  private notify(offset: number, length: number): void {
    const end = offset + length;
    // Copy: a watcher may unwatch while we iterate.
    for (const w of [...this.watches]) if (offset < w.end && w.start < end) w.cb(offset, length);
  }

  private setMask(target: Uint8Array, offset: number, size: PciAccessSize, mask: number): void {
    this.checkRange(offset, size);
    for (let i = 0; i < size; i++) target[offset + i] = Math.floor(mask / 2 ** (8 * i)) & 0xff;
  }

  private checkAccess(offset: number, size: number): void {
    check(size === 1 || size === 2 || size === 4, 'EINVAL', `config access size ${size}`);
    this.checkRange(offset, size);
  }

  private checkRange(offset: number, length: number): void {
    // On every register access: the message is built only when the check fails.
    if (!(Number.isInteger(offset) && Number.isInteger(length) && offset >= 0 && length >= 0 && offset + length <= this.size)) {
      throw new VfioError('EINVAL', `config access [0x${offset.toString(16)}, +${length}) outside ${this.size} bytes`);
    }
  }
}

/** Whether PCI_COMMAND has INTX_DISABLE set (a convenience for device models and irq.ts). */
export function intxDisabled(config: PciConfigSpace): boolean {
  return (config.getWord(PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE) !== 0;
}
