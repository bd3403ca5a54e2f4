// An SR-IOV physical function whose VFs are DMA engines (a PcieDmaEngine with the SR-IOV capability; VFs
// have their own device id, FLR and MSI-X, no INTx and no PM), the way a NIC's PF hands out VFs.
import { PcieDmaEngine, DMA_ENGINE_DEVICE } from './dma-engine.js';
import type { DmaEngineOptions } from './dma-engine.js';
import type { PciFunction, PciHwResetKind } from './pci-function.js';
import { SriovVfSet } from './sriov-hw.js';

export const DMA_ENGINE_VF_DEVICE = 0x10d1;

export interface SriovDmaPfOptions extends Omit<DmaEngineOptions, 'vf' | 'extCaps'> {
  readonly totalVfs?: number;
  readonly vfOffset?: number;
  readonly vfStride?: number;
  readonly vfDevice?: number;
}

export class SriovDmaPf extends PcieDmaEngine {
  override readonly model = 'dma-engine-pf';
  private readonly vfSet: SriovVfSet;

  constructor(opts: SriovDmaPfOptions = {}) {
    let pos = 0;
    const vfDevice = opts.vfDevice ?? DMA_ENGINE_VF_DEVICE;
    super({
      ...opts,
      device: opts.device ?? DMA_ENGINE_DEVICE,
      extCaps: (b) => {
        pos = b.addSriov({ totalVfs: opts.totalVfs ?? 4, vfOffset: opts.vfOffset ?? 1, vfStride: opts.vfStride ?? 1, vfDeviceId: vfDevice });
      },
    });
    const vendor = opts.vendor;
    this.vfSet = new SriovVfSet(this.config, pos, () => new PcieDmaEngine({ vf: true, device: vfDevice, ...(vendor !== undefined ? { vendor } : {}) }));
  }

  override virtualFunctions(): ReadonlyMap<number, PciFunction> {
    return this.vfSet.functions;
  }

  /** VF `n`'s hardware, while enabled. */
  vf(n: number): PcieDmaEngine | undefined {
    const f = this.vfSet.vf(n);
    return f instanceof PcieDmaEngine ? f : undefined;
  }

  protected override resetState(kind: PciHwResetKind): void {
    super.resetState(kind);
    // VF Enable is clear in the power-on image: every VF is gone.
    this.vfSet?.reset();
  }
}
