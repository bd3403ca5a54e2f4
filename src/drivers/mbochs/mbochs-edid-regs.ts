// mbochs's EDID state: the vfio_region_gfx_edid register block and blob a VMM writes through the GFX/EDID
// region, and the EDID block the guest reads from the MMIO BAR (mbochs.c handle_edid_regs/handle_edid_blob).
import { VFIO_DEVICE_GFX_LINK_STATE_UP, VFIO_REGION_GFX_EDID_OFFSETS, VFIO_REGION_GFX_EDID_SIZEOF } from '../../uapi/region-caps.js';
import { MBOCHS_EDID_BLOB_OFFSET, MBOCHS_EDID_BLOB_SIZE } from './mbochs-defs.js';
import { parseEdidPreferredMode } from '../../hw/edid.js';
import type { EdidMode } from '../../hw/edid.js';

/** The EDID registers (struct vfio_region_gfx_edid) and blob of one mbochs device. */
export class MbochsEdid {
  /** The 24 register bytes, little-endian. */
  readonly regs = new Uint8Array(VFIO_REGION_GFX_EDID_SIZEOF);
  readonly blob = new Uint8Array(MBOCHS_EDID_BLOB_SIZE);
  private readonly view = new DataView(this.regs.buffer);

  constructor(maxXres: number, maxYres: number) {
    this.view.setUint32(VFIO_REGION_GFX_EDID_OFFSETS.edidOffset, MBOCHS_EDID_BLOB_OFFSET, true);
    this.view.setUint32(VFIO_REGION_GFX_EDID_OFFSETS.edidMaxSize, MBOCHS_EDID_BLOB_SIZE, true);
    this.view.setUint32(VFIO_REGION_GFX_EDID_OFFSETS.maxXres, maxXres, true);
    this.view.setUint32(VFIO_REGION_GFX_EDID_OFFSETS.maxYres, maxYres, true);
  }

  get edidSize(): number {
    return this.view.getUint32(VFIO_REGION_GFX_EDID_OFFSETS.edidSize, true);
  }

  get linkUp(): boolean {
    return this.view.getUint32(VFIO_REGION_GFX_EDID_OFFSETS.linkState, true) === VFIO_DEVICE_GFX_LINK_STATE_UP;
  }

  /** handle_edid_regs: dword accesses inside the 24 bytes only; only link_state and edid_size are writable. */
  regAccess(offset: number, chunk: Uint8Array, isWrite: boolean): void {
    if (chunk.length !== 4 || offset % 4 !== 0 || offset + 4 > this.regs.length) {
      if (!isWrite) chunk.fill(0);
      return;
    }
    if (!isWrite) {
      chunk.set(this.regs.subarray(offset, offset + 4));
    } else if (offset === VFIO_REGION_GFX_EDID_OFFSETS.linkState || offset === VFIO_REGION_GFX_EDID_OFFSETS.edidSize) {
      this.regs.set(chunk, offset);
    }
  }

  /** handle_edid_blob: inside edid_max_size only. */
  blobAccess(offset: number, buf: Uint8Array, isWrite: boolean): void {
    if (offset + buf.length > this.blob.length) {
      if (!isWrite) buf.fill(0);
      return;
    }
    if (isWrite) this.blob.set(buf, offset);
    else buf.set(this.blob.subarray(offset, offset + buf.length));
  }

  /** The guest's view (MMIO BAR 0x000-0x3ff): the blob while the link is up and below edid_size, else zeros. */
  mmioRead(offset: number, buf: Uint8Array): void {
    if (!this.linkUp || offset >= this.edidSize) {
      buf.fill(0);
      return;
    }
    buf.fill(0);
    buf.set(this.blob.subarray(offset, Math.min(offset + buf.length, this.blob.length)));
  }

  /** The preferred mode of the EDID the VMM set, or null while the link is down or the EDID is not valid. */
  preferredMode(): EdidMode | null {
    if (!this.linkUp) return null;
    try {
      return parseEdidPreferredMode(this.blob.subarray(0, Math.min(this.edidSize, this.blob.length)));
    } catch {
      return null;
    }
  }
}
