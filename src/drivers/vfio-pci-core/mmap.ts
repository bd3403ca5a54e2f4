// mmap of a vfio-pci device's BARs (drivers/vfio/pci/vfio_pci_core.c vfio_pci_probe_mmaps, vfio_pci_core_mmap):
// a memory BAR of at least a page whose hardware is memory a process can map (here: a model's memfd) is
// mmappable whole, the MSI-X table's BAR too (since Linux 4.16 the kernel reports MSIX_MAPPABLE instead of
// sparse areas around the table); the mapping is the model's own memory, so a write through it is the card's.
import { pciBarBacking } from '../../hw/pci/bar-memory.js';
import { IORESOURCE_MEM } from '../../hw/pci/resources.js';
import { VfioError, check } from '../../uapi/errno.js';
import { VFIO_PCI_BAR5_REGION_INDEX, VFIO_PCI_NUM_REGIONS, VFIO_PCI_OFFSET_SHIFT, VFIO_PCI_ROM_REGION_INDEX } from '../../uapi/region-info.js';
import { pdevOf } from './core-device.js';
import type { VfioPciCoreDevice } from './core-device.js';

export const PAGE_SIZE = 4096;
const OFFSET_SPAN = 2 ** Number(VFIO_PCI_OFFSET_SHIFT);

/**
 * vfio_pci_probe_mmaps(): a BAR is mmappable when it is memory, of at least a page (a smaller one starting on a page
 * boundary would get the rest of its page reserved; the simulated host's BARs are naturally aligned), and the
 * hardware behind it can be shared with a process (not a register file).
 */
export function vfioPciProbeMmaps(vdev: VfioPciCoreDevice): void {
  const pdev = pdevOf(vdev);
  for (let bar = 0; bar <= VFIO_PCI_BAR5_REGION_INDEX; bar++) {
    const res = pdev.resource[bar];
    const mem = res !== undefined && (res.flags & IORESOURCE_MEM) !== 0 && res.size !== 0n;
    const pageOk = mem && (res.size >= BigInt(PAGE_SIZE) || res.start % BigInt(PAGE_SIZE) === 0n);
    vdev.barMmapSupported[bar] = pageOk && pciBarBacking(pdev.hw, bar) !== null;
  }
}

/**
 * vfio_pci_core_mmap() (ops.mmap): `pos` is the file position (index above VFIO_PCI_OFFSET_SHIFT, page aligned).
 * EINVAL for an index past the regions, the ROM/CONFIG/VGA, a BAR that is not mmappable, or a range past the
 * page-rounded BAR. The fd returned is the model's (it stays the model's).
 */
export function vfioPciCoreMmap(vdev: VfioPciCoreDevice, pos: number, length: number, _writable: boolean): { fd: number; offset: number } {
  check(Number.isSafeInteger(pos) && pos >= 0 && Number.isSafeInteger(length) && length > 0, 'EINVAL', `mmap of ${length} bytes at ${pos}`);
  const index = Math.floor(pos / OFFSET_SPAN);
  const start = pos - index * OFFSET_SPAN;
  if (index >= VFIO_PCI_NUM_REGIONS) throw new VfioError('EINVAL', `region ${index} of ${VFIO_PCI_NUM_REGIONS}`);
  if (index >= VFIO_PCI_ROM_REGION_INDEX) throw new VfioError('EINVAL', `region ${index} cannot be mmapped`);
  if (vdev.barMmapSupported[index] !== true) throw new VfioError('EINVAL', `BAR${index} cannot be mmapped`);
  check(start % PAGE_SIZE === 0, 'EINVAL', 'mmap offset must be page aligned');
  const pdev = pdevOf(vdev);
  const physLen = Math.ceil(Number(pdev.resource[index]?.size ?? 0n) / PAGE_SIZE) * PAGE_SIZE;
  check(start + length <= physLen, 'EINVAL', `mmap [0x${start.toString(16)}, +0x${length.toString(16)}) past BAR${index}'s 0x${physLen.toString(16)} bytes`);
  const backing = pciBarBacking(pdev.hw, index);
  if (backing === null) throw new VfioError('EINVAL', `BAR${index} has no memory behind it`);
  return { fd: backing.fd, offset: backing.offset + start };
}
