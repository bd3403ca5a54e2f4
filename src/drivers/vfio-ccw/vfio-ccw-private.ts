// struct vfio_ccw_private (drivers/s390/cio/vfio_ccw_private.h, 6.1): the subchannel's side and the mdev's side
// in one object, which IS the vfio device (it extends VfioDevice) but is allocated by the css driver's probe,
// initialized by the mdev probe (initDevice), released by the core (which only clears the core part and signals
// release_comp), and freed by the css driver's remove with freeDevice.
import { Completion } from '../../base/completion.js';
import type { MdevParent } from '../../mdev/mdev-objects.js';
import type { Subchannel } from '../../hw/css/subchannel.js';
import { CCW_CMD_REGION_SIZE, CCW_CRW_REGION_SIZE, CCW_IO_REGION_SIZE, CCW_SCHIB_REGION_SIZE } from '../../uapi/ccw.js';
import { VfioDevice } from '../../vfio/vfio-device.js';
import { vfioDmaRw, vfioPinPages, vfioUnpinPages } from '../../vfio/dma-access.js';
import { ChannelProgram } from './vfio-ccw-cp.js';
import type { CpDeviceAccess } from './vfio-ccw-cp.js';

/** enum vfio_ccw_state. */
export type VfioCcwState = 'NOT_OPER' | 'STANDBY' | 'IDLE' | 'CP_PROCESSING' | 'CP_PENDING';

/** IOMMU_READ | IOMMU_WRITE for vfio_pin_pages. */
const PIN_PROT = 3;

/** A device-specific region registered at open (vfio_ccw_register_dev_region). */
export interface VfioCcwRegion {
  readonly type: number;
  readonly subtype: number;
  readonly size: number;
  readonly flags: number;
  readonly data: Uint8Array;
  read(priv: VfioCcwPrivate, buf: Uint8Array, pos: number): number;
  write(priv: VfioCcwPrivate, buf: Uint8Array, pos: number): number;
}

export class VfioCcwPrivate extends VfioDevice {
  state: VfioCcwState = 'STANDBY';
  /** The mdev parent registered on the subchannel (private->parent). */
  mdevParent: MdevParent | null = null;
  /** struct ccw_io_region, the cmd/schib/crw region buffers (allocated with the private, as the kmem_caches). */
  readonly ioRegion = new Uint8Array(CCW_IO_REGION_SIZE);
  readonly cmdRegion = new Uint8Array(CCW_CMD_REGION_SIZE);
  readonly schibRegion = new Uint8Array(CCW_SCHIB_REGION_SIZE);
  readonly crwRegion = new Uint8Array(CCW_CRW_REGION_SIZE);
  /** Capability regions while open, in index order after the I/O region. */
  regions: VfioCcwRegion[] = [];
  /** Queued channel report words (private->crw). */
  readonly crws: number[] = [];
  /** The last IRB from the interruption (private->irb). */
  irb: Uint8Array = new Uint8Array(96);
  /** io_mutex held: a concurrent region write gets EAGAIN (mutex_trylock). */
  ioBusy = false;
  ioTrigger = -1;
  crwTrigger = -1;
  reqTrigger = -1;
  /** The channel program being translated or run; set by vfioCcwAllocPrivate. */
  cp: ChannelProgram = new ChannelProgram(NO_ACCESS);
  /** Completed by release: the mdev remove waits for it before the storage may be freed. */
  releaseComp = new Completion();

  constructor(readonly sch: Subchannel) {
    super();
  }
}

/** Before vfioCcwAllocPrivate wires the program to its device: any DMA is a bug. */
const NO_ACCESS: CpDeviceAccess = Object.freeze({
  dmaRw: () => {
    throw new Error('vfio-ccw: channel program without a device');
  },
  pinPages: () => {
    throw new Error('vfio-ccw: channel program without a device');
  },
  unpinPages: () => {
    throw new Error('vfio-ccw: channel program without a device');
  },
});

/** vfio_ccw_alloc_private(): the css side's allocation; its channel program reaches memory through the device. */
export function vfioCcwAllocPrivate(sch: Subchannel): VfioCcwPrivate {
  const priv = new VfioCcwPrivate(sch);
  priv.cp = new ChannelProgram({
    dmaRw: (iova, buf, write) => vfioDmaRw(priv, iova, buf, write),
    pinPages: (iova, npage) => vfioPinPages(priv, iova, npage, PIN_PROT),
    unpinPages: (iova, npage) => vfioUnpinPages(priv, iova, npage),
  });
  return priv;
}
