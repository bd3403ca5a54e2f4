// The AMD Seattle 10GbE controller (`amd,xgbe-seattle-v1a`; drivers/net/ethernet/amd/xgbe/xgbe-common.h names) as
// far as its VFIO reset handler (drivers/vfio/platform/reset/vfio_platform_amdxgbe.c) reaches it: window 0 is the
// XGMAC (MAC transmit/receive configuration, interrupt status/enable, version, DMA mode with its self-clearing
// software reset), window 1 the XPCS, whose MMD registers are reached indirectly: the upper address bits go to the
// select register at 0xff << 2, the low byte of the register number picks the word (xmdio_read/xmdio_write).
// Line 0 is the MAC interrupt, line 1 the auto-negotiation interrupt. A PCS or MAC reset completes at once.
import type { IrqLine } from './irq-line.js';
import type { MmioHw } from './mmio-device.js';
import { regBankRead, regBankWrite } from './mmio-device.js';

export const MAC_TCR = 0x0000;
export const MAC_RCR = 0x0004;
export const MAC_ISR = 0x00b0;
export const MAC_IER = 0x00b4;
export const MAC_VR = 0x0110;
export const DMA_MR = 0x3000;
export const DMA_SBMR = 0x3004;
export const DMA_ISR = 0x3008;
export const DMA_MR_SWR = 0x1;
export const MAC_TCR_TE = 0x1;
export const MAC_RCR_RE = 0x1;
/** MAC_VR as this model reports it (SNPSVER 0x51, USERVER 0x10). */
export const XGBE_MAC_VERSION = 0x1051;

/** PCS_MMD_SELECT: the XPCS register holding the upper MMD address bits (at 0xff << 2). */
export const PCS_MMD_SELECT = 0xff;
export const MDIO_MMD_PCS = 3;
export const MDIO_MMD_AN = 7;
export const MDIO_CTRL1 = 0x0000;
export const MDIO_AN_INTMASK = 0x8001;
export const MDIO_AN_INT = 0x8002;
export const MDIO_CTRL1_RESET = 0x8000;
export const MDIO_AN_CTRL1_ENABLE = 0x1000;
/** AN interrupt causes (XGBE_AN_CL73_INT_CMPLT and friends). */
export const XGBE_AN_INT_CMPLT = 0x01;

export const XGBE_XGMAC_WINDOW_SIZE = 0x10000;
export const XGBE_XPCS_WINDOW_SIZE = 0x1000;

/** An MMD register's address as xmdio_read builds it: mmd << 16 | reg. */
const mmdAddress = (mmd: number, reg: number): number => ((mmd << 16) | (reg & 0xffff)) >>> 0;

export class AmdXgbe implements MmioHw {
  readonly model = 'amd-xgbe';
  macTcr = 0;
  macRcr = 0;
  macIsr = 0;
  macIer = 0;
  dmaMr = 0;
  dmaSbmr = 0;
  dmaIsr = 0;
  /** The XPCS select register (the upper MMD address bits). */
  mmdSelect = 0;
  /** MMD registers by mmd << 16 | reg (absent: 0). */
  readonly mmd = new Map<number, number>();
  private lines: readonly IrqLine[] = [];

  constructor() {
    this.reset();
  }

  connectIrqs(lines: readonly IrqLine[]): void {
    this.lines = lines;
    this.updateIrq();
  }

  reset(): void {
    this.macReset();
    this.pcsReset();
    this.mmdSelect = 0;
  }

  /** DMA_MR.SWR: the MAC and DMA registers to their reset values. */
  private macReset(): void {
    this.macTcr = 0;
    this.macRcr = 0;
    this.macIsr = 0;
    this.macIer = 0;
    this.dmaMr = 0;
    this.dmaSbmr = 0;
    this.dmaIsr = 0;
    this.updateIrq();
  }

  /** PCS CTRL1.RESET: the PCS and AN registers to their reset values (auto-negotiation on, as after power-up). */
  private pcsReset(): void {
    this.mmd.clear();
    this.mmd.set(mmdAddress(MDIO_MMD_AN, MDIO_CTRL1), MDIO_AN_CTRL1_ENABLE);
    this.updateIrq();
  }

  /** The link partner finished auto-negotiation: the AN interrupt cause is latched. */
  linkEvent(cause = XGBE_AN_INT_CMPLT): void {
    const a = mmdAddress(MDIO_MMD_AN, MDIO_AN_INT);
    this.mmd.set(a, (this.mmd.get(a) ?? 0) | cause);
    this.updateIrq();
  }

  /** An MMD register, as the PCS holds it. */
  mmdRead(mmd: number, reg: number): number {
    return this.mmd.get(mmdAddress(mmd, reg)) ?? 0;
  }

  read(window: number, offset: number, size: 1 | 2 | 4): number {
    return regBankRead((o) => (window === 0 ? this.macRead(o) : this.xpcsRead(o)), offset, size);
  }

  write(window: number, offset: number, _size: 1 | 2 | 4, value: number): void {
    regBankWrite((o, v) => (window === 0 ? this.macWrite(o, v) : this.xpcsWrite(o, v)), offset, value);
  }

  private macRead(offset: number): number {
    switch (offset) {
      case MAC_TCR: return this.macTcr;
      case MAC_RCR: return this.macRcr;
      case MAC_ISR: return this.macIsr;
      case MAC_IER: return this.macIer;
      case MAC_VR: return XGBE_MAC_VERSION;
      case DMA_MR: return this.dmaMr;
      case DMA_SBMR: return this.dmaSbmr;
      case DMA_ISR: return this.dmaIsr;
      default: return 0;
    }
  }

  private macWrite(offset: number, v: number): void {
    switch (offset) {
      case MAC_TCR: this.macTcr = v; break;
      case MAC_RCR: this.macRcr = v; break;
      case MAC_ISR: this.macIsr &= ~v; break;
      case MAC_IER: this.macIer = v; break;
      case DMA_MR:
        if ((v & DMA_MR_SWR) !== 0) this.macReset();
        else this.dmaMr = v;
        return;
      case DMA_SBMR: this.dmaSbmr = v; break;
      default: return;
    }
    this.updateIrq();
  }

  /** The MMD register a word of the XPCS window reaches under the current select value. */
  private xpcsTarget(offset: number): number {
    return ((this.mmdSelect << 8) | ((offset >>> 2) & 0xff)) >>> 0;
  }

  private xpcsRead(offset: number): number {
    if (offset === PCS_MMD_SELECT << 2) return this.mmdSelect;
    return this.mmd.get(this.xpcsTarget(offset)) ?? 0;
  }

  private xpcsWrite(offset: number, v: number): void {
    if (offset === PCS_MMD_SELECT << 2) {
      this.mmdSelect = v & 0xffffff;
      return;
    }
    const a = this.xpcsTarget(offset);
    if (a === mmdAddress(MDIO_MMD_PCS, MDIO_CTRL1) && (v & MDIO_CTRL1_RESET) !== 0) {
      this.pcsReset();
      return;
    }
    this.mmd.set(a, v & 0xffff);
    this.updateIrq();
  }

  /** Line 0: an enabled MAC interrupt cause; line 1: an unmasked AN interrupt cause. */
  updateIrq(): void {
    this.lines[0]?.set((this.macIsr & this.macIer) !== 0);
    this.lines[1]?.set((this.mmdRead(MDIO_MMD_AN, MDIO_AN_INT) & this.mmdRead(MDIO_MMD_AN, MDIO_AN_INTMASK)) !== 0);
  }
}
