// uAPI codec throughput: GET_REGION_INFO reply with a 2-cap chain (encode + decode + chain walk) and SET_IRQS with 4 eventfds (encode + decode).
import {
  VFIO_REGION_INFO_FLAG_MMAP,
  VFIO_REGION_INFO_FLAG_READ,
  VFIO_REGION_INFO_FLAG_WRITE,
  VFIO_REGION_INFO_SIZEOF,
  VFIO_PCI_MSIX_IRQ_INDEX,
  decodeVfioIrqSet,
  decodeVfioRegionCapSparseMmap,
  decodeVfioRegionInfo,
  encodeVfioIrqSet,
  encodeVfioRegionInfoWithCaps,
  parseVfioInfoCaps,
  vfioIrqSetEventfds,
  vfioIrqSetOfEventfds,
  vfioRegionCapMsixMappable,
  vfioRegionCapSparseMmap,
} from '../dist-test/uapi/index.js';
import { measure } from './measure.mjs';


const caps = [vfioRegionCapSparseMmap([{ offset: 0n, size: 0x1000n }, { offset: 0x3000n, size: 0x1000n }]), vfioRegionCapMsixMappable()];
const info = {
  argsz: 4096,
  flags: VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE | VFIO_REGION_INFO_FLAG_MMAP,
  index: 0,
  capOffset: 0,
  size: 0x4000n,
  offset: 0n,
};
measure('uapi.region_info_codec', 'ops/s', (i) => {
  const bytes = encodeVfioRegionInfoWithCaps({ ...info, index: i & 7 }, caps);
  const r = decodeVfioRegionInfo(bytes);
  const found = parseVfioInfoCaps(bytes, r.capOffset, VFIO_REGION_INFO_SIZEOF);
  const first = found[0];
  return r.index + found.length + (first === undefined ? 0 : decodeVfioRegionCapSparseMmap(first.data).length);
});

const fds = [10, 11, 12, 13];
measure('uapi.irq_set_codec', 'ops/s', (i) => {
  const bytes = encodeVfioIrqSet(vfioIrqSetOfEventfds(VFIO_PCI_MSIX_IRQ_INDEX, i & 3, fds));
  const s = decodeVfioIrqSet(bytes);
  return vfioIrqSetEventfds(s).length + s.start;
});
