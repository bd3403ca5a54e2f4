// The GFX/EDID region of an emulated display (include/uapi/linux/vfio.h struct vfio_region_gfx_edid): the
// register block and blob a VMM writes to set the monitor, as mbochs.c handle_edid_regs/handle_edid_blob and
// gvt's kvmgt.c handle_edid_regs/handle_edid_blob serve it.
import { VFIO_DEVICE_GFX_LINK_STATE_UP, VFIO_REGION_GFX_EDID_OFFSETS, VFIO_REGION_GFX_EDID_SIZEOF } from '../uapi/region-caps.js';

/** The EDID registers (struct vfio_region_gfx_edid) and blob of one display. */
export class VfioGfxEdid {
  /** The 24 register bytes, little-endian. */
  readonly regs = new Uint8Array(VFIO_REGION_GFX_EDID_SIZEOF);
  readonly blob: Uint8Array;
  private readonly view = new DataView(this.regs.buffer);

  /** `blobOffset`: where the blob starts in the region (edid_offset); `blobSize`: edid_max_size. */
  constructor(
    maxXres: number,
    maxYres: number,
    readonly blobOffset: number,
    blobSize: number,
  ) {
    this.blob = new Uint8Array(blobSize);
    this.view.setUint32(VFIO_REGION_GFX_EDID_OFFSETS.edidOffset, blobOffset, true);
    this.view.setUint32(VFIO_REGION_GFX_EDID_OFFSETS.edidMaxSize, blobSize, true);
    this.view.setUint32(VFIO_REGION_GFX_EDID_OFFSETS.maxXres, maxXres, true);
    this.view.setUint32(VFIO_REGION_GFX_EDID_OFFSETS.maxYres, maxYres, true);
  }

  /** The region's size: registers, then the blob. */
  get regionSize(): number {
    return this.blobOffset + this.blob.length;
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

  /** One chunk of the whole region: registers below blobOffset, the blob from it. */
  regionAccess(offset: number, chunk: Uint8Array, isWrite: boolean): void {
    if (offset < this.blobOffset) this.regAccess(offset, chunk, isWrite);
    else this.blobAccess(offset - this.blobOffset, chunk, isWrite);
  }

  /** The guest's view of the EDID: the blob while the link is up and `offset` is below edid_size, else zeros. */
  guestRead(offset: number, buf: Uint8Array): void {
    buf.fill(0);
    if (!this.linkUp || offset >= this.edidSize) return;
    buf.set(this.blob.subarray(offset, Math.min(offset + buf.length, this.blob.length)));
  }

  /** The EDID bytes the VMM set (edid_size of them), or null while the link is down. */
  current(): Uint8Array | null {
    return this.linkUp ? this.blob.subarray(0, Math.min(this.edidSize, this.blob.length)) : null;
  }
}
