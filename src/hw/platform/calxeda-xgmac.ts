// The Calxeda Highbank 10G Ethernet MAC (`calxeda,hb-xgmac`; drivers/net/ethernet/calxeda/xgmac.c names) as far as
// its VFIO reset handler (drivers/vfio/platform/reset/vfio_platform_calxedaxgmac.c) and a simple user need it: the
// MAC configuration with its TX/RX enables, the DMA bus mode (software reset), control (start/stop TX and RX),
// status (write 1 to clear) and interrupt enables, the MMC counters with their reset, and the station address.
// A TX poll demand with the transmitter and TX DMA running sends one frame: counted, looped back to the receiver
// when it runs, and reported in the DMA status. There are no descriptors or buffers (no DMA through an IOMMU).
import type { IrqLine } from './irq-line.js';
import type { MmioHw } from './mmio-device.js';
import { regBankRead, regBankWrite } from './mmio-device.js';

export const XGMAC_CONTROL = 0x000;
export const XGMAC_FRAME_FILTER = 0x004;
export const XGMAC_ADDR_HIGH = 0x040;
export const XGMAC_ADDR_LOW = 0x044;
export const XGMAC_MMC_CTRL = 0x800;
export const XGMAC_MMC_TXFRAME = 0x818;
export const XGMAC_MMC_RXFRAME = 0x880;
export const XGMAC_DMA_BUS_MODE = 0xf00;
export const XGMAC_DMA_TX_POLL = 0xf04;
export const XGMAC_DMA_RX_POLL = 0xf08;
export const XGMAC_DMA_STATUS = 0xf14;
export const XGMAC_DMA_CONTROL = 0xf18;
export const XGMAC_DMA_INTR_ENA = 0xf1c;

export const MAC_ENABLE_TX = 0x00000008;
export const MAC_ENABLE_RX = 0x00000004;
export const DMA_BUS_MODE_SFT_RESET = 0x00000001;
export const DMA_CONTROL_ST = 0x00002000;
export const DMA_CONTROL_SR = 0x00000002;
export const DMA_STATUS_TI = 0x00000001;
export const DMA_STATUS_RI = 0x00000040;
export const DMA_STATUS_NIS = 0x00010000;
export const DMA_INTR_ENA_TIE = 0x00000001;
export const DMA_INTR_ENA_RIE = 0x00000040;
export const DMA_INTR_ENA_NIE = 0x00010000;
export const MMC_CTRL_CNT_RESET = 0x00000001;

/** The window the driver maps (the DT's `reg`): 4 KiB. */
export const XGMAC_WINDOW_SIZE = 0x1000;

export class CalxedaXgmac implements MmioHw {
  readonly model = 'calxeda-xgmac';
  control = 0;
  frameFilter = 0;
  addrHigh = 0;
  addrLow = 0;
  dmaBusMode = 0;
  dmaStatus = 0;
  dmaControl = 0;
  dmaIntrEna = 0;
  mmcCtrl = 0;
  txFrames = 0;
  rxFrames = 0;
  private line: IrqLine | null = null;

  connectIrqs(lines: readonly IrqLine[]): void {
    this.line = lines[0] ?? null;
    this.updateIrq();
  }

  reset(): void {
    this.control = 0;
    this.frameFilter = 0;
    this.addrHigh = 0xffff;
    this.addrLow = 0xffffffff;
    this.dmaBusMode = 0;
    this.dmaStatus = 0;
    this.dmaControl = 0;
    this.dmaIntrEna = 0;
    this.mmcCtrl = 0;
    this.txFrames = 0;
    this.rxFrames = 0;
    this.updateIrq();
  }

  constructor() {
    this.reset();
  }

  read(_window: number, offset: number, size: 1 | 2 | 4): number {
    return regBankRead((o) => this.read32(o), offset, size);
  }

  write(_window: number, offset: number, _size: 1 | 2 | 4, value: number): void {
    regBankWrite((o, v) => this.write32(o, v), offset, value);
  }

  private read32(offset: number): number {
    switch (offset) {
      case XGMAC_CONTROL: return this.control;
      case XGMAC_FRAME_FILTER: return this.frameFilter;
      case XGMAC_ADDR_HIGH: return this.addrHigh;
      case XGMAC_ADDR_LOW: return this.addrLow;
      case XGMAC_MMC_CTRL: return this.mmcCtrl;
      case XGMAC_MMC_TXFRAME: return this.txFrames >>> 0;
      case XGMAC_MMC_RXFRAME: return this.rxFrames >>> 0;
      case XGMAC_DMA_BUS_MODE: return this.dmaBusMode;
      case XGMAC_DMA_STATUS: return this.dmaStatus;
      case XGMAC_DMA_CONTROL: return this.dmaControl;
      case XGMAC_DMA_INTR_ENA: return this.dmaIntrEna;
      default: return 0;
    }
  }

  private write32(offset: number, v: number): void {
    switch (offset) {
      case XGMAC_CONTROL: this.control = v; break;
      case XGMAC_FRAME_FILTER: this.frameFilter = v; break;
      case XGMAC_ADDR_HIGH: this.addrHigh = v & 0xffff; break;
      case XGMAC_ADDR_LOW: this.addrLow = v; break;
      case XGMAC_MMC_CTRL:
        // The counter reset bit clears the counters and reads back 0.
        if ((v & MMC_CTRL_CNT_RESET) !== 0) {
          this.txFrames = 0;
          this.rxFrames = 0;
        }
        this.mmcCtrl = v & ~MMC_CTRL_CNT_RESET;
        break;
      case XGMAC_DMA_BUS_MODE:
        // The software reset completes at once and the bit clears itself: everything back to reset values.
        if ((v & DMA_BUS_MODE_SFT_RESET) !== 0) this.reset();
        else this.dmaBusMode = v;
        break;
      case XGMAC_DMA_TX_POLL: this.transmit(); break;
      case XGMAC_DMA_STATUS:
        // Write 1 to clear; the summary bit goes with the last cause it summarizes.
        this.dmaStatus &= ~v;
        if ((this.dmaStatus & (DMA_STATUS_TI | DMA_STATUS_RI)) === 0) this.dmaStatus &= ~DMA_STATUS_NIS;
        break;
      case XGMAC_DMA_CONTROL: this.dmaControl = v; break;
      case XGMAC_DMA_INTR_ENA: this.dmaIntrEna = v; break;
      default: return;
    }
    this.updateIrq();
  }

  /** A TX poll demand: one frame out when the transmitter and TX DMA run; back in when the receiver runs. */
  private transmit(): void {
    if ((this.control & MAC_ENABLE_TX) === 0 || (this.dmaControl & DMA_CONTROL_ST) === 0) return;
    this.txFrames++;
    this.dmaStatus |= DMA_STATUS_TI | DMA_STATUS_NIS;
    if ((this.control & MAC_ENABLE_RX) !== 0 && (this.dmaControl & DMA_CONTROL_SR) !== 0) {
      this.rxFrames++;
      this.dmaStatus |= DMA_STATUS_RI;
    }
  }

  /** The MAC's one interrupt: a cause in the DMA status that is enabled. */
  updateIrq(): void {
    this.line?.set((this.dmaStatus & this.dmaIntrEna & (DMA_STATUS_TI | DMA_STATUS_RI | DMA_STATUS_NIS)) !== 0);
  }
}
