// A PCI 16550 serial card with the ids of QEMU's pci-serial (hw/char/serial-pci.c): 1b36:0002, class 0x0700
// prog-if 0x02, one 8-byte I/O BAR with the UART's registers, INTx pin A. Linux's 8250_pci binds it.
import { PciBars } from '../../pci/bar.js';
import { VfioError } from '../../uapi/errno.js';
import { PCI_CFG_SPACE_SIZE, PCI_CLASS_COMMUNICATION_SERIAL, PCI_CLASS_PROG_SERIAL_16550, PCI_INTERRUPT_INTA } from '../../uapi/pci-regs.js';
import { Uart16550 } from '../uart16550.js';
import type { UartBackend, UartStateRecord } from '../uart16550.js';
import { PciFunction } from './pci-function.js';

export const PCI_VENDOR_ID_REDHAT = 0x1b36;
export const PCI_DEVICE_ID_REDHAT_SERIAL = 0x0002;

export interface PciSerialOptions {
  /** Where transmitted bytes go; absent: loopback (TX comes back as RX), as mtty's default port. */
  readonly backend?: UartBackend;
}

/** The saved state of the card: its UART (config space travels separately, as VFIO's config region). */
export interface PciSerialStateRecord {
  readonly kind: 'pci-serial';
  readonly version: 1;
  readonly uart: UartStateRecord;
}

export class PciSerialCard extends PciFunction {
  readonly model = 'pci-serial';
  readonly uart: Uart16550;

  constructor(opts: PciSerialOptions = {}) {
    super(PCI_CFG_SPACE_SIZE);
    this.setIds({
      vendor: PCI_VENDOR_ID_REDHAT,
      device: PCI_DEVICE_ID_REDHAT_SERIAL,
      subVendor: 0x1af4,
      subDevice: 0x1100,
      revision: 1,
      classCode: PCI_CLASS_COMMUNICATION_SERIAL,
      progIf: PCI_CLASS_PROG_SERIAL_16550,
    });
    this.config.setInterruptPin(PCI_INTERRUPT_INTA);
    this.bars = new PciBars(this.config, [{ index: 0, kind: 'io', size: 8 }]);
    this.uart = new Uart16550({ ...(opts.backend !== undefined ? { backend: opts.backend } : {}), onIrq: () => this.updateIrq() });
    this.powerOn();
  }

  /** Connects a host backend (undefined: loopback). */
  setBackend(backend: UartBackend | undefined): void {
    this.uart.setBackend(backend);
  }

  /** Bytes arriving from the host side of the line. */
  receive(bytes: Iterable<number>): void {
    this.uart.receive(bytes);
  }

  /** The card's one interrupt: the UART's line on INTA#. */
  updateIrq(): void {
    this.irq.setLine(this.uart.irq);
  }

  save(): PciSerialStateRecord {
    return { kind: 'pci-serial', version: 1, uart: this.uart.save() };
  }

  /** EINVAL (state unchanged) for a record of another kind or version. */
  load(record: unknown): void {
    if (typeof record !== 'object' || record === null) throw new VfioError('EINVAL', 'pci-serial record is not an object');
    const r = new Map<string, unknown>(Object.entries(record));
    if (r.get('kind') !== 'pci-serial' || r.get('version') !== 1) throw new VfioError('EINVAL', 'not a pci-serial v1 record');
    this.uart.restore(r.get('uart'));
    this.updateIrq();
  }

  protected resetState(): void {
    this.uart.reset();
    this.updateIrq();
  }

  protected mmioRead(_bar: number, offset: number, out: Uint8Array): void {
    for (let i = 0; i < out.length; i++) out[i] = this.uart.read(offset + i);
  }

  protected mmioWrite(_bar: number, offset: number, data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) this.uart.write(offset + i, data[i] ?? 0);
  }
}
