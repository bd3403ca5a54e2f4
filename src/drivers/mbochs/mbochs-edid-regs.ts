// mbochs's EDID state: the GFX/EDID region's registers and blob (src/emu/gfx-edid.ts, mbochs.c
// handle_edid_regs/handle_edid_blob) with mbochs's blob placement, and the EDID block the guest reads from the MMIO BAR.
import { VfioGfxEdid } from '../../emu/gfx-edid.js';
import { MBOCHS_EDID_BLOB_OFFSET, MBOCHS_EDID_BLOB_SIZE } from './mbochs-defs.js';
import { parseEdidPreferredMode } from '../../hw/edid.js';
import type { EdidMode } from '../../hw/edid.js';

/** The EDID registers (struct vfio_region_gfx_edid) and blob of one mbochs device. */
export class MbochsEdid extends VfioGfxEdid {
  constructor(maxXres: number, maxYres: number) {
    super(maxXres, maxYres, MBOCHS_EDID_BLOB_OFFSET, MBOCHS_EDID_BLOB_SIZE);
  }

  /** The guest's view (MMIO BAR 0x000-0x3ff): the blob while the link is up and below edid_size, else zeros. */
  mmioRead(offset: number, buf: Uint8Array): void {
    this.guestRead(offset, buf);
  }

  /** The preferred mode of the EDID the VMM set, or null while the link is down or the EDID is not valid. */
  preferredMode(): EdidMode | null {
    const edid = this.current();
    if (edid === null) return null;
    try {
      return parseEdidPreferredMode(edid);
    } catch {
      return null;
    }
  }
}
