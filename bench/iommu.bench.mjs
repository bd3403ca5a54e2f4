// Type1 IOMMU model throughput: MAP_DMA+UNMAP_DMA pairs with 10,000 mappings present, and dma_rw of 4 KiB.
import { ArrayBufferBacking, UserAddressSpace } from '../dist-test/vfio/dma-space.js';
import { VfioIommuType1, VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_WRITE } from '../dist-test/vfio/iommu-type1.js';
import { measure } from './measure.mjs';

const RW = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
const K4 = 0x1000n;
const mm = new UserAddressSpace();
mm.map(0x10000000n, new ArrayBufferBacking(1 << 20));
const iommu = new VfioIommuType1({ mm });
iommu.attachGroup({}, 'emulated');
// 10,000 existing mappings with a one-page gap after each, so new ones land in the middle.
for (let i = 0; i < 10000; i++) iommu.mapDma({ iova: BigInt(2 * i) * K4, vaddr: 0x10000000n, size: K4, flags: RW });


measure('iommu.type1_map_unmap', 'ops/s', (i) => {
  const iova = BigInt(2 * (i % 10000) + 1) * K4;
  iommu.mapDma({ iova, vaddr: 0x10000000n, size: K4, flags: RW });
  iommu.unmapDma({ iova, size: K4, flags: 0 });
}, { warmup: 2000 });

const big = new VfioIommuType1({ mm });
big.mapDma({ iova: 0x100000n, vaddr: 0x10000000n, size: 1n << 20n, flags: RW });
const buf = new Uint8Array(4096);
measure('iommu.type1_dma_rw_4k', 'MB/s', (i) => {
  big.dmaRw(0x100000n + BigInt((i % 256) * 4096), buf, (i & 1) === 0);
}, { perIter: 4096 / 1e6, warmup: 2000 });
