// Tests for the capability chain: layout, the argsz rule, parsing (incl. malformed chains) and the region-info caps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VfioError } from './errno.js';
import {
  VFIO_INFO_CAP_HEADER_SIZEOF,
  findVfioInfoCap,
  parseVfioInfoCaps,
  vfioInfoCapChainSize,
  vfioInfoCapPlace,
  writeVfioInfoCapChain,
} from './caps.js';
import {
  VFIO_REGION_INFO_FLAG_CAPS,
  VFIO_REGION_INFO_FLAG_MMAP,
  VFIO_REGION_INFO_FLAG_READ,
  VFIO_REGION_INFO_SIZEOF,
  decodeVfioRegionInfo,
  encodeVfioRegionInfoWithCaps,
} from './region-info.js';
import {
  VFIO_REGION_GFX_EDID_SIZEOF,
  VFIO_REGION_INFO_CAP_MSIX_MAPPABLE,
  VFIO_REGION_INFO_CAP_SPARSE_MMAP,
  VFIO_REGION_INFO_CAP_TYPE,
  VFIO_REGION_SUBTYPE_GFX_EDID,
  VFIO_REGION_TYPE_GFX,
  VFIO_REGION_TYPE_PCI_VENDOR_TYPE,
  VFIO_DEVICE_GFX_LINK_STATE_UP,
  decodeVfioRegionCapSparseMmap,
  decodeVfioRegionCapType,
  decodeVfioRegionGfxEdid,
  encodeVfioRegionGfxEdid,
  vfioRegionCapMsixMappable,
  vfioRegionCapSparseMmap,
  vfioRegionCapType,
} from './region-caps.js';

const isEinval = (e: unknown): boolean => VfioError.is(e, 'EINVAL');
const u32 = (b: Uint8Array, off: number): number => new DataView(b.buffer, b.byteOffset).getUint32(off, true);
const u16 = (b: Uint8Array, off: number): number => new DataView(b.buffer, b.byteOffset).getUint16(off, true);

const sparse = vfioRegionCapSparseMmap([{ offset: 0x1000n, size: 0x3000n }]);
const msix = vfioRegionCapMsixMappable();
const info = { argsz: 0, flags: VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_MMAP, index: 2, capOffset: 0, size: 0x4000n, offset: 2n << 40n };

test('cap sizes follow the kernel structs: sparse_mmap 16 + 16n, cap_type 16, msix_mappable 8', () => {
  assert.equal(VFIO_INFO_CAP_HEADER_SIZEOF, 8);
  assert.equal(vfioInfoCapChainSize([sparse]), 32);
  assert.equal(vfioInfoCapChainSize([vfioRegionCapType(1, 1)]), 16);
  assert.equal(vfioInfoCapChainSize([msix]), 8);
  assert.equal(vfioInfoCapChainSize([sparse, msix]), 40);
  // An odd-length cap is padded only when another follows it.
  const odd = { id: 9, version: 1, data: new Uint8Array(4) };
  assert.equal(vfioInfoCapChainSize([odd]), 12);
  assert.equal(vfioInfoCapChainSize([odd, msix]), 24);
});

test('argsz too small: CAPS set, cap_offset 0, argsz = needed, only the fixed struct returned', () => {
  const out = encodeVfioRegionInfoWithCaps({ ...info, argsz: 32 }, [sparse, msix]);
  assert.equal(out.byteLength, VFIO_REGION_INFO_SIZEOF);
  const r = decodeVfioRegionInfo(out);
  assert.equal(r.argsz, 72);
  assert.equal(r.capOffset, 0);
  assert.equal(r.flags, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_MMAP | VFIO_REGION_INFO_FLAG_CAPS);
  assert.deepEqual(parseVfioInfoCaps(out, r.capOffset), []);
  // 71 is still one short.
  assert.equal(decodeVfioRegionInfo(encodeVfioRegionInfoWithCaps({ ...info, argsz: 71 }, [sparse, msix])).argsz, 72);
});

test('argsz large enough: chain after the struct, next offsets from the buffer start', () => {
  const out = encodeVfioRegionInfoWithCaps({ ...info, argsz: 4096 }, [sparse, msix]);
  assert.equal(out.byteLength, 72);
  const r = decodeVfioRegionInfo(out);
  assert.equal(r.argsz, 4096); // the kernel leaves the caller's argsz alone when it fits
  assert.equal(r.capOffset, 32);
  assert.equal(u16(out, 32), VFIO_REGION_INFO_CAP_SPARSE_MMAP);
  assert.equal(u16(out, 34), 1);
  assert.equal(u32(out, 36), 64); // next = 32 + 32
  assert.equal(u32(out, 40), 1); // nr_areas
  assert.equal(u16(out, 64), VFIO_REGION_INFO_CAP_MSIX_MAPPABLE);
  assert.equal(u32(out, 68), 0); // end of chain
  const caps = parseVfioInfoCaps(out, r.capOffset, VFIO_REGION_INFO_SIZEOF);
  assert.deepEqual(caps.map((c) => [c.id, c.version, c.offset, c.next]), [[1, 1, 32, 64], [3, 1, 64, 0]]);
  const sp = findVfioInfoCap(out, r.capOffset, VFIO_REGION_INFO_CAP_SPARSE_MMAP);
  assert.ok(sp);
  assert.deepEqual(decodeVfioRegionCapSparseMmap(sp.data), [{ offset: 0x1000n, size: 0x3000n }]);
  assert.equal(findVfioInfoCap(out, r.capOffset, VFIO_REGION_INFO_CAP_TYPE), undefined);
});

test('no caps: flags and cap_offset untouched', () => {
  const out = encodeVfioRegionInfoWithCaps({ ...info, argsz: 32 }, []);
  const r = decodeVfioRegionInfo(out);
  assert.equal(r.flags & VFIO_REGION_INFO_FLAG_CAPS, 0);
  assert.equal(r.argsz, 32);
});

test('vfioInfoCapPlace reports the decision', () => {
  const p = vfioInfoCapPlace({ argsz: 10, flags: 1, capOffset: 5 }, 8, 24, [msix]);
  assert.deepEqual(p, { argsz: 32, flags: 9, capOffset: 0, fits: false, replySize: 24 });
  const q = vfioInfoCapPlace({ argsz: 32, flags: 1, capOffset: 0 }, 8, 24, [msix]);
  assert.deepEqual(q, { argsz: 32, flags: 9, capOffset: 24, fits: true, replySize: 32 });
});

test('malformed chains are EINVAL, never a hang', () => {
  const buf = new Uint8Array(64);
  writeVfioInfoCapChain([msix, msix], buf, 32);
  assert.equal(parseVfioInfoCaps(buf, 32).length, 2);
  const dv = new DataView(buf.buffer);
  dv.setUint32(44, 32, true); // second cap points back at the first
  assert.throws(() => parseVfioInfoCaps(buf, 32), isEinval);
  dv.setUint32(44, 40, true); // points at itself
  assert.throws(() => parseVfioInfoCaps(buf, 32), isEinval);
  dv.setUint32(44, 60, true); // header would run past the end
  assert.throws(() => parseVfioInfoCaps(buf, 32), isEinval);
  assert.throws(() => parseVfioInfoCaps(buf, 8, 32), isEinval); // inside the fixed struct
  assert.throws(() => writeVfioInfoCapChain([msix], buf, 4), RangeError);
});

test('TYPE cap and sparse-mmap decode errors', () => {
  const t = vfioRegionCapType(VFIO_REGION_TYPE_PCI_VENDOR_TYPE | 0x8086, 1);
  assert.deepEqual(decodeVfioRegionCapType(t.data), { type: 0x80008086, subtype: 1 });
  assert.equal(t.id, VFIO_REGION_INFO_CAP_TYPE);
  const g = vfioRegionCapType(VFIO_REGION_TYPE_GFX, VFIO_REGION_SUBTYPE_GFX_EDID);
  assert.deepEqual(decodeVfioRegionCapType(g.data), { type: 1, subtype: 1 });
  assert.throws(() => decodeVfioRegionCapType(new Uint8Array(4)), isEinval);
  const bad = new Uint8Array(24);
  new DataView(bad.buffer).setUint32(0, 2, true); // claims 2 areas, room for 1
  assert.throws(() => decodeVfioRegionCapSparseMmap(bad), isEinval);
  const two = vfioRegionCapSparseMmap([{ offset: 0n, size: 0x1000n }, { offset: 0x3000n, size: 0x1000n }]);
  assert.equal(decodeVfioRegionCapSparseMmap(two.data).length, 2);
});

test('vfio_region_gfx_edid: 24 bytes, round trip, field offsets', () => {
  assert.equal(VFIO_REGION_GFX_EDID_SIZEOF, 24);
  const e = { edidOffset: 0x1000, edidMaxSize: 0x400, edidSize: 128, maxXres: 1920, maxYres: 1080, linkState: VFIO_DEVICE_GFX_LINK_STATE_UP };
  const b = encodeVfioRegionGfxEdid(e);
  assert.equal(b.byteLength, 24);
  assert.deepEqual([u32(b, 0), u32(b, 4), u32(b, 8), u32(b, 12), u32(b, 16), u32(b, 20)], [0x1000, 0x400, 128, 1920, 1080, 1]);
  assert.deepEqual(decodeVfioRegionGfxEdid(b), e);
  assert.throws(() => decodeVfioRegionGfxEdid(new Uint8Array(20)), isEinval);
});
