// The virtual IGD OpRegion a vGPU offers (drivers/gpu/drm/i915/gvt/opregion.c intel_vgpu_init_opregion): the
// "IntelGraphicsMem" header, the mailbox bits and a minimal VBT (header and BDB header), read-only to the user.
import { GVT_OPREGION_SIZE } from './gvt-defs.js';

export const OPREGION_SIGNATURE = 'IntelGraphicsMem';
/** Header fields (struct opregion_header): size in KiB @0x10, version @0x14, mailboxes @0x58. */
export const OPREGION_SIZE_OFFSET = 0x10;
export const OPREGION_VERSION_OFFSET = 0x14;
export const OPREGION_MBOX_OFFSET = 0x58;
/** MBOX_VBT: mailbox 4 (the VBT) is valid. */
export const MBOX_VBT = 1 << 3;
/** The VBT in mailbox 4, at 1 KiB. */
export const OPREGION_VBT_OFFSET = 0x400;
export const VBT_SIGNATURE = '$VBT SKYLAKE        ';
const BDB_SIGNATURE = 'BIOS_DATA_BLOCK ';
const VBT_HEADER_SIZE = 0x30;
const BDB_HEADER_SIZE = 0x16;

function ascii(buf: Uint8Array, at: number, s: string): void {
  for (let i = 0; i < s.length; i++) buf[at + i] = s.charCodeAt(i);
}

/** A fresh OpRegion image (intel_vgpu_init_opregion + virt_vbt). */
export function gvtBuildOpregion(): Uint8Array {
  const buf = new Uint8Array(GVT_OPREGION_SIZE);
  const dv = new DataView(buf.buffer);
  ascii(buf, 0, OPREGION_SIGNATURE);
  dv.setUint32(OPREGION_SIZE_OFFSET, GVT_OPREGION_SIZE / 1024, true);
  dv.setUint32(OPREGION_VERSION_OFFSET, 0x02000000, true);
  dv.setUint32(OPREGION_MBOX_OFFSET, MBOX_VBT, true);
  const vbt = OPREGION_VBT_OFFSET;
  const vbtSize = VBT_HEADER_SIZE + BDB_HEADER_SIZE;
  ascii(buf, vbt, VBT_SIGNATURE);
  dv.setUint16(vbt + 20, 155, true); // version
  dv.setUint16(vbt + 22, VBT_HEADER_SIZE, true);
  dv.setUint16(vbt + 24, vbtSize, true);
  dv.setUint32(vbt + 28, VBT_HEADER_SIZE, true); // bdb_offset
  ascii(buf, vbt + VBT_HEADER_SIZE, BDB_SIGNATURE);
  dv.setUint16(vbt + VBT_HEADER_SIZE + 16, 186, true); // BDB version
  dv.setUint16(vbt + VBT_HEADER_SIZE + 18, BDB_HEADER_SIZE, true);
  dv.setUint16(vbt + VBT_HEADER_SIZE + 20, BDB_HEADER_SIZE, true);
  // The VBT checksum makes its bytes sum to 0 mod 256.
  let sum = 0;
  for (let i = 0; i < vbtSize; i++) sum += buf[vbt + i] ?? 0;
  buf[vbt + 26] = (256 - (sum % 256)) % 256;
  return buf;
}
