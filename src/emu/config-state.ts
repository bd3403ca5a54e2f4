// An emulated PCI device's config space as a migration record: the raw register bytes and the BAR/ROM dwords as the
// guest programmed them (they live in src/pci's BAR hooks, not in the bytes). What vfio-pci leaves to the VMM
// (QEMU saves config space itself) an mdev-style device with its own config space has to carry; the kernel's
// mtty.c carries none, and the display samples do not migrate.
import { check } from '../uapi/errno.js';
import { PCI_BASE_ADDRESS_0, PCI_ROM_ADDRESS } from '../uapi/pci-regs.js';
import type { VfioPciEmuDevice } from './pci-emu-device.js';

/** The saved config space. */
export interface PciEmuConfigRecord {
  /** config.bytes, hex. */
  bytes: string;
  /** The six BAR dwords then the ROM dword, as read by the guest. */
  bars: number[];
}

const BAR_DWORDS = [0, 1, 2, 3, 4, 5].map((i) => PCI_BASE_ADDRESS_0 + 4 * i).concat(PCI_ROM_ADDRESS);

export function pciEmuSaveConfig(dev: VfioPciEmuDevice): PciEmuConfigRecord {
  const c = dev.config;
  return { bytes: Buffer.from(c.bytes).toString('hex'), bars: BAR_DWORDS.map((off) => c.read(off, 4)) };
}

/** Checks a saved config space against this device (same size, same ids); EINVAL and no change when it does not fit. */
function parse(dev: VfioPciEmuDevice, record: unknown): { bytes: Uint8Array; bars: number[] } {
  check(typeof record === 'object' && record !== null, 'EINVAL', 'config record is not an object');
  const m = new Map<string, unknown>(Object.entries(record));
  const hex = m.get('bytes');
  const c = dev.config;
  check(typeof hex === 'string' && hex.length === c.size * 2 && /^[0-9a-f]*$/.test(hex), 'EINVAL', 'config record bytes');
  const bytes = new Uint8Array(Buffer.from(hex, 'hex'));
  for (let i = 0; i < 4; i++) check(bytes[i] === c.bytes[i], 'EINVAL', 'config record of another vendor/device id');
  const bars = m.get('bars');
  check(Array.isArray(bars) && bars.length === BAR_DWORDS.length, 'EINVAL', 'config record bars');
  const values: number[] = [];
  for (const v of bars) {
    check(typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffff_ffff, 'EINVAL', 'config record BAR dword');
    values.push(v);
  }
  return { bytes, bars: values };
}

/** Restores a saved config space: the bytes, then the BARs as the guest wrote them (through their hooks). */
export function pciEmuLoadConfig(dev: VfioPciEmuDevice, record: unknown): void {
  const { bytes, bars } = parse(dev, record);
  dev.config.bytes.set(bytes);
  BAR_DWORDS.forEach((off, i) => dev.config.write(off, 4, bars[i] ?? 0));
}

/** Validates without applying (for a load that checks every part before changing any). */
export function pciEmuCheckConfig(dev: VfioPciEmuDevice, record: unknown): void {
  parse(dev, record);
}
