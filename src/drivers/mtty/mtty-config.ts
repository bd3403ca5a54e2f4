// mtty's PCI identity: config space as mtty_create_config_space builds it (samples/vfio-mdev/mtty.c), with BAR sizing from src/pci.
import type { PciBarDef } from '../../pci/bar.js';
import type { PciConfigSpace } from '../../pci/config-space.js';
import type { PciEmuSetup } from '../../emu/pci-emu-device.js';
import {
  PCI_CLASS_COMMUNICATION_SERIAL,
  PCI_CLASS_PROG_SERIAL_16550,
  PCI_COMMAND,
  PCI_COMMAND_IO,
  PCI_INTERRUPT_INTA,
  PCI_STATUS,
} from '../../uapi/pci-regs.js';
import { UART_REG_COUNT } from '../../hw/uart16550.js';

export const MTTY_VENDOR_ID = 0x4348;
export const MTTY_DEVICE_ID = 0x3253;
export const MTTY_REVISION = 0x10;
/** PCI_STATUS_DEVSEL_MEDIUM, as the sample's 0x0200. */
const STATUS_DEVSEL_MEDIUM = 0x0200;
/** MTTY_IO_BAR_SIZE: one UART's eight registers. */
export const MTTY_IO_BAR_SIZE = UART_REG_COUNT;

/** The sample's vendor-specific bytes at 0x40..0x4c and the "PCI Serial/UART" string at 0x60. */
function writeVendorData(c: PciConfigSpace): void {
  c.setByte(0x40, 0x23);
  c.setByte(0x43, 0x80);
  c.setByte(0x44, 0x23);
  c.setByte(0x48, 0x23);
  c.setByte(0x4c, 0x23);
  c.setBytes(0x60, new TextEncoder().encode('PCI Serial/UART'));
}

/** The pciEmuInit setup of an mtty with `nrPorts` ports (BAR1 only for two). */
export function mttyPciSetup(nrPorts: number, onReset: () => void): PciEmuSetup {
  const bars: PciBarDef[] = [{ index: 0, kind: 'io', size: MTTY_IO_BAR_SIZE }];
  if (nrPorts === 2) bars.push({ index: 1, kind: 'io', size: MTTY_IO_BAR_SIZE });
  return {
    ids: {
      vendor: MTTY_VENDOR_ID,
      device: MTTY_DEVICE_ID,
      subVendor: MTTY_VENDOR_ID,
      subDevice: MTTY_DEVICE_ID,
      revision: MTTY_REVISION,
      classCode: PCI_CLASS_COMMUNICATION_SERIAL,
      progIf: PCI_CLASS_PROG_SERIAL_16550,
    },
    interruptPin: PCI_INTERRUPT_INTA,
    bars,
    // No MSI capability, yet the sample offers one MSI vector through SET_IRQS.
    virtualMsiVectors: 1,
    configure: (c) => {
      c.setWord(PCI_COMMAND, PCI_COMMAND_IO);
      c.setWord(PCI_STATUS, STATUS_DEVSEL_MEDIUM);
      writeVendorData(c);
    },
    onReset,
  };
}
