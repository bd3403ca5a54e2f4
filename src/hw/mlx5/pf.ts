// A ConnectX-like physical function (15b3:101d) with the SR-IOV capability: its VFs are Mlx5Vf functions, and it
// owns the firmware command interface through which a VF's state is queried, suspended, saved and loaded, and its
// DMA tracked (the kernel's mlx5 core does the same for the vfio variant driver, by the VF's vhca_id).
import { PciBars } from '../../pci/bar.js';
import { PciCapabilityBuilder } from '../../pci/capabilities.js';
import { PciExtCapabilityBuilder } from '../../pci/ext-capabilities.js';
import { PCI_CFG_SPACE_EXP_SIZE } from '../../uapi/pci-regs.js';
import { PciFunction } from '../pci/pci-function.js';
import type { PciHwResetKind } from '../pci/pci-function.js';
import { SriovVfSet } from '../pci/sriov-hw.js';
import { Mlx5Firmware } from './firmware.js';
import type { Mlx5FirmwareCaps } from './firmware.js';
import { MLX5_CLASS_CODE, MLX5_ID_VALUE, MLX5_PF_DEVICE_ID, MLX5_REG_ID, MLX5_VF_DEVICE_ID, PCI_VENDOR_ID_MELLANOX } from './mlx5-regs.js';
import type { Mlx5TrackerCaps } from './page-tracker.js';
import { Mlx5Vf } from './vf.js';
import type { Mlx5VfOptions } from './vf.js';

/** The caps of a default device: migration with PRE_COPY, no chunks, a tracker of 4 ranges, 4 KiB..64 KiB pages. */
export const MLX5_DEFAULT_TRACKER_CAPS: Mlx5TrackerCaps = Object.freeze({
  maxNumRange: 4,
  logMinPageSize: 12,
  logMaxPageSize: 16,
  logMinAddrSpace: 12,
  logMaxAddrSpace: 48,
});

export interface Mlx5PfOptions extends Mlx5VfOptions {
  readonly totalVfs?: number;
  /** Overrides of the firmware caps (default: every migration feature on but migration_in_chunks). */
  readonly caps?: Partial<Omit<Mlx5FirmwareCaps, 'tracker'>> & { readonly tracker?: Partial<Mlx5TrackerCaps> };
}

/** vhca_id of VF n: the firmware numbers functions PF first (0), then VFs from 2, so it is not the function_id. */
const vfVhcaId = (n: number): number => n + 2;

export class Mlx5Pf extends PciFunction {
  readonly model = 'mlx5-pf';
  readonly fw: Mlx5Firmware;
  private readonly vfSet: SriovVfSet;
  private readonly vfsMade: Mlx5Vf[] = [];

  constructor(opts: Mlx5PfOptions = {}) {
    super(PCI_CFG_SPACE_EXP_SIZE);
    this.setIds({ vendor: PCI_VENDOR_ID_MELLANOX, device: MLX5_PF_DEVICE_ID, classCode: MLX5_CLASS_CODE });
    this.bars = new PciBars(this.config, [{ index: 0, kind: 'mem32', size: 4096 }]);
    const caps = new PciCapabilityBuilder(this.config);
    this.wireFlr(caps.addExp({ flr: true }));
    const pos = new PciExtCapabilityBuilder(this.config).addSriov({ totalVfs: opts.totalVfs ?? 4, vfOffset: 1, vfStride: 1, vfDeviceId: MLX5_VF_DEVICE_ID });
    const vfOpts: Mlx5VfOptions = {
      ...(opts.numQueues !== undefined ? { numQueues: opts.numQueues } : {}),
      ...(opts.devmemSize !== undefined ? { devmemSize: opts.devmemSize } : {}),
    };
    this.vfSet = new SriovVfSet(this.config, pos, (n) => {
      const vf = new Mlx5Vf(vfOpts);
      this.vfsMade[n] = vf;
      return vf;
    });
    const c = opts.caps ?? {};
    this.fw = new Mlx5Firmware(
      {
        migration: c.migration ?? true,
        migrationMultiLoad: c.migrationMultiLoad ?? true,
        migrationTrackingState: c.migrationTrackingState ?? true,
        migrationInChunks: c.migrationInChunks ?? false,
        advVirtualization: c.advVirtualization ?? true,
        tracker: { ...MLX5_DEFAULT_TRACKER_CAPS, ...c.tracker },
      },
      {
        vf: (vhcaId) => {
          const n = vhcaId - 2;
          const vf = this.vfsMade[n];
          return vf !== undefined && this.vfSet.vf(n) === vf ? vf : undefined;
        },
        vhcaIdOf: (functionId) => (functionId >= 1 && this.vfSet.vf(functionId - 1) !== undefined ? vfVhcaId(functionId - 1) : undefined),
      },
    );
    this.powerOn();
  }

  override virtualFunctions(): ReadonlyMap<number, PciFunction> {
    return this.vfSet.functions;
  }

  /** VF `n`'s hardware, while enabled. */
  vf(n: number): Mlx5Vf | undefined {
    const f = this.vfSet.vf(n);
    return f instanceof Mlx5Vf ? f : undefined;
  }

  updateIrq(): void {
    // The PF model raises nothing: its command interface completes synchronously.
  }

  protected resetState(_kind: PciHwResetKind): void {
    // VF Enable is clear in the power-on image: every VF is gone, and the firmware's objects with them.
    this.vfSet?.reset();
    this.fw?.reset();
  }

  protected mmioRead(_bar: number, offset: number, out: Uint8Array): void {
    const v = (offset & ~3) === MLX5_REG_ID ? MLX5_ID_VALUE : 0;
    for (let i = 0; i < out.length; i++) out[i] = (v >>> (8 * ((offset + i) & 3))) & 0xff;
  }

  protected mmioWrite(_bar: number, _offset: number, _data: Uint8Array): void {
    // The initialization segment is not modelled: commands are calls on `fw`.
  }
}
