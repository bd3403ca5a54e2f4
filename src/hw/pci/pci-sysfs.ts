// The attributes of `/sys/bus/pci/devices/<BDF>/` that describe the function (drivers/pci/pci-sysfs.c):
// ids, class, irq, config, resource, modalias. Reset, remove and SR-IOV files live with their code.
import type { Device } from '../../base/device.js';
import type { SysfsAttrTable } from '../../base/sysfs.js';
import { VfioError } from '../../uapi/errno.js';
import { PciDev } from './pci-dev.js';

/** A PCI device attribute: `show` gets the pci_dev. */
export function pciAttr(show: (pdev: PciDev) => string, store?: (pdev: PciDev, value: string) => void): SysfsAttrTable<Device>[string] {
  const asPci = (dev: Device): PciDev => {
    if (!(dev instanceof PciDev)) throw new Error(`${dev.name} is not a pci_dev`);
    return dev;
  };
  const attr = { show: (dev: Device) => show(asPci(dev)) };
  return store === undefined ? attr : { ...attr, store: (dev: Device, value: string) => store(asPci(dev), value) };
}

/** A write-only file: reading it fails as the kernel's 0200 mode does for root (EACCES here). */
export function pciWriteOnlyAttr(store: (pdev: PciDev, value: string) => void): SysfsAttrTable<Device>[string] {
  return pciAttr(() => {
    throw new VfioError('EACCES', 'write-only attribute');
  }, store);
}

const hex = (v: number | bigint, w: number): string => `0x${v.toString(16).padStart(w, '0')}`;

/** resource_show(): start, end and flags of BARs 0-5, the ROM and (unused here) the IOV and bridge windows. */
function resourceShow(pdev: PciDev): string {
  const lines: string[] = [];
  // PCI_BRIDGE_RESOURCES (13) lines for a device, DEVICE_COUNT_RESOURCE (17) for a bridge.
  const count = pdev.subordinate !== null ? 17 : 13;
  for (let i = 0; i < count; i++) {
    const r = pdev.resource[i];
    if (r === undefined || r.size === 0n) lines.push(`${hex(0, 16)} ${hex(0, 16)} ${hex(0, 16)}`);
    else lines.push(`${hex(r.start, 16)} ${hex(r.start + r.size - 1n, 16)} ${hex(r.flags, 16)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The config file: the bytes of config space as read through config cycles, one char per byte (latin1). */
function configShow(pdev: PciDev): string {
  const bytes: number[] = [];
  for (let off = 0; off < pdev.cfgSize; off += 4) {
    const v = pdev.pciBus.readConfig(pdev.devfn, off, 4);
    bytes.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);
  }
  return String.fromCharCode(...bytes);
}

/** Decodes the config file's contents back into bytes. */
export function pciConfigBytes(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
}

const upper = (v: number, w: number): string => v.toString(16).toUpperCase().padStart(w, '0');

/** pci_dev_attrs. */
export const pciDevAttrs: SysfsAttrTable<Device> = Object.freeze({
  vendor: pciAttr((p) => `${hex(p.vendor, 4)}\n`),
  device: pciAttr((p) => `${hex(p.device, 4)}\n`),
  subsystem_vendor: pciAttr((p) => `${hex(p.subsystemVendor, 4)}\n`),
  subsystem_device: pciAttr((p) => `${hex(p.subsystemDevice, 4)}\n`),
  revision: pciAttr((p) => `${hex(p.revision, 2)}\n`),
  class: pciAttr((p) => `${hex(p.classCode, 6)}\n`),
  irq: pciAttr((p) => `${p.irq}\n`),
  config: pciAttr(configShow),
  resource: pciAttr(resourceShow),
  modalias: pciAttr(
    (p) =>
      `pci:v${upper(p.vendor, 8)}d${upper(p.device, 8)}sv${upper(p.subsystemVendor, 8)}sd${upper(p.subsystemDevice, 8)}` +
      `bc${upper(p.classCode >> 16, 2)}sc${upper((p.classCode >> 8) & 0xff, 2)}i${upper(p.classCode & 0xff, 2)}\n`,
  ),
});
