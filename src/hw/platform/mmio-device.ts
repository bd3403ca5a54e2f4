// What platform and AMBA devices share (include/linux/ioport.h struct resource, include/linux/of.h struct
// device_node, drivers/base/property.c device_property_read_string): a device described by a firmware node, with
// MMIO windows backed by a hardware model and interrupt lines. The model is the hardware; the Device is the
// kernel's view of it.
import { Device } from '../../base/device.js';
import type { IrqLine, IrqTrigger } from './irq-line.js';

/** IORESOURCE_MEM and IORESOURCE_READONLY (include/linux/ioport.h). */
export const IORESOURCE_MEM = 0x00000200;
export const IORESOURCE_READONLY = 0x00004000;

/** One MMIO window of a device (struct resource): [start, start + size). */
export interface Resource {
  readonly start: number;
  readonly size: number;
  readonly flags: number;
  /** Which of the model's windows it is (the node's `reg` index). */
  readonly window: number;
}

/** The part of a device-tree node the kernel reads for these devices. */
export interface OfNode {
  /** The node name without the unit address (`ethernet`, `pl011`). */
  readonly name: string;
  readonly compatible: readonly string[];
  readonly reg: readonly { readonly base: number; readonly size: number }[];
  readonly interrupts: readonly { readonly line: number; readonly trigger: IrqTrigger }[];
}

/** Backing memory a RAM-like window offers for mmap: the fd stays the model's. */
export interface MmioMemory {
  readonly fd: number;
  readonly offset: number;
}

/**
 * A hardware model behind MMIO windows. Register accesses are 1, 2 or 4 bytes, little-endian, at an offset the
 * caller checked against the window's size; writes to undefined registers are ignored.
 */
export interface MmioHw {
  /** The model's name for listings (`calxeda-xgmac`, `pl011`). */
  readonly model: string;
  read(window: number, offset: number, size: 1 | 2 | 4): number;
  write(window: number, offset: number, size: 1 | 2 | 4, value: number): void;
  /** A RAM-like window's backing memory (mappable); undefined or null for register windows. */
  memory?(window: number): MmioMemory | null;
  /** Wires the model's interrupt outputs to the lines of its node, in order. */
  connectIrqs(lines: readonly IrqLine[]): void;
  /** Power-on reset: every register to its reset value. */
  reset(): void;
  /** Lets go of host resources (backing fds, chardevs). Idempotent. */
  close?(): void;
}

/** A device on a firmware-described bus: its node, windows, interrupt lines and model. */
export class MmioDevice extends Device {
  ofNode: OfNode | null = null;
  resources: Resource[] = [];
  irqLines: IrqLine[] = [];
  hw: MmioHw | null = null;
}

/** device_property_read_string(dev, "compatible"): the node's first compatible string, or null. */
export function devicePropertyReadCompatible(dev: Device): string | null {
  if (!(dev instanceof MmioDevice) || dev.ofNode === null) return null;
  return dev.ofNode.compatible[0] ?? null;
}

/** of_device_make_bus_id(): `<unit address in hex>.<node name>`, as `9000000.pl011`. */
export function ofDeviceMakeBusId(node: OfNode): string {
  const first = node.reg[0];
  return first === undefined ? node.name : `${first.base.toString(16)}.${node.name}`;
}

/** The model of a device; a device without one is a bug. */
export function hwOf(dev: MmioDevice): MmioHw {
  if (dev.hw === null) throw new Error(`${dev.name} has no hardware model`);
  return dev.hw;
}

/**
 * A 1/2/4-byte read of a bank of 32-bit registers: the aligned register's value, shifted to the byte asked for
 * (the bus does a word read; the reader picks the lanes it wanted).
 */
export function regBankRead(read32: (offset: number) => number, offset: number, size: 1 | 2 | 4): number {
  const v = read32(offset & ~3) >>> ((offset & 3) * 8);
  return size === 4 ? v >>> 0 : v & (size === 2 ? 0xffff : 0xff);
}

/**
 * A 1/2/4-byte write to a bank of 32-bit registers: an aligned narrow write reaches the register zero-extended
 * (as these APB peripherals take byte writes to their data registers); a write that does not start at a register
 * is ignored.
 */
export function regBankWrite(write32: (offset: number, value: number) => void, offset: number, value: number): boolean {
  if ((offset & 3) !== 0) return false;
  write32(offset, value >>> 0);
  return true;
}
