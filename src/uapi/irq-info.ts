// struct vfio_irq_info (VFIO_DEVICE_GET_IRQ_INFO), its flags and the fixed PCI/CCW/AP IRQ indexes (include/uapi/linux/vfio.h).
import { needArgsz, needBytes, outBuffer, viewOf } from './codec.js';

export const VFIO_IRQ_INFO_EVENTFD = 1 << 0;
export const VFIO_IRQ_INFO_MASKABLE = 1 << 1;
export const VFIO_IRQ_INFO_AUTOMASKED = 1 << 2;
export const VFIO_IRQ_INFO_NORESIZE = 1 << 3;

export const VFIO_PCI_INTX_IRQ_INDEX = 0;
export const VFIO_PCI_MSI_IRQ_INDEX = 1;
export const VFIO_PCI_MSIX_IRQ_INDEX = 2;
export const VFIO_PCI_ERR_IRQ_INDEX = 3;
export const VFIO_PCI_REQ_IRQ_INDEX = 4;
export const VFIO_PCI_NUM_IRQS = 5;

export const VFIO_CCW_IO_IRQ_INDEX = 0;
export const VFIO_CCW_CRW_IRQ_INDEX = 1;
export const VFIO_CCW_REQ_IRQ_INDEX = 2;
export const VFIO_CCW_NUM_IRQS = 3;

export const VFIO_AP_REQ_IRQ_INDEX = 0;
export const VFIO_AP_CFG_CHG_IRQ_INDEX = 1;
export const VFIO_AP_NUM_IRQS = 2;

/** struct vfio_irq_info: argsz @0, flags @4, index @8, count @12. */
export interface VfioIrqInfo {
  argsz: number;
  flags: number;
  index: number;
  count: number;
}
export const VFIO_IRQ_INFO_SIZEOF = 16;
/** offsetofend(struct vfio_irq_info, count). */
export const VFIO_IRQ_INFO_MINSZ = 16;

export function decodeVfioIrqInfo(buf: Uint8Array): VfioIrqInfo {
  needBytes(buf, VFIO_IRQ_INFO_MINSZ, 'vfio_irq_info');
  const dv = viewOf(buf);
  const argsz = dv.getUint32(0, true);
  needArgsz(argsz, VFIO_IRQ_INFO_MINSZ, 'vfio_irq_info');
  return { argsz, flags: dv.getUint32(4, true), index: dv.getUint32(8, true), count: dv.getUint32(12, true) };
}

export function encodeVfioIrqInfo(x: VfioIrqInfo, into?: Uint8Array): Uint8Array {
  const out = outBuffer(VFIO_IRQ_INFO_SIZEOF, into, 'vfio_irq_info');
  const dv = viewOf(out);
  dv.setUint32(0, x.argsz, true);
  dv.setUint32(4, x.flags, true);
  dv.setUint32(8, x.index, true);
  dv.setUint32(12, x.count, true);
  return out;
}
