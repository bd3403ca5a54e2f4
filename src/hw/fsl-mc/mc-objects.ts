// The DPAA2 objects the management complex holds (the MC firmware's view; the kernel sees them through
// dprc_get_obj/dprc_get_obj_region): each has a type and id, MMIO regions, interrupts with enable/mask/status
// and an MSI the parent container programs (dprc_set_obj_irq), and state that its reset really clears.
import { close, memfdCreate, pread, pwrite } from '../../native/index.js';
import { VfioError } from '../../uapi/errno.js';
import { DPNI_IRQ_EVENT_LINK_CHANGED, FSL_MC_VENDOR_FREESCALE } from './mc-cmd.js';

/** Where an object's MSI goes: the machine's MSI controller (the GIC ITS doorbell on a real LS2088A). */
export type McMsiSink = (addr: bigint, data: number) => void;

/** One mappable region of an object, as dprc_get_obj_region describes it. */
export interface McRegionHw {
  /** enum dprc_region_type: MC portal or QBMan portal. */
  readonly type: number;
  /** Absolute base of the region type's window (dprc_get_obj_region v2 base_addr). */
  readonly baseAddress: bigint;
  /** Offset of this region inside that window. */
  readonly baseOffset: number;
  readonly size: number;
  /** FSL_MC_REGION_CACHEABLE | FSL_MC_REGION_SHAREABLE. */
  readonly flags: number;
  /** Loads `buf.length` bytes at `off` (MMIO read). */
  read(off: number, buf: Uint8Array): void;
  /** Stores `buf` at `off` (MMIO write; an MC portal runs a command when its header is written). */
  write(off: number, buf: Uint8Array): void;
  /** A memfd holding the region's memory when it is plain memory a user may map; -1 for a register window. */
  readonly mmapFd: number;
}

/** One interrupt of an object: enable, mask, status (one bit per cause) and the MSI its container programmed. */
export interface McIrqState {
  enable: boolean;
  mask: number;
  status: number;
  msiAddr: bigint;
  msiData: number;
  irqNum: number;
  /** Whether the MSI for the current (status & mask) was sent: MSIs are edges. */
  sent: boolean;
}

const freshIrq = (): McIrqState => ({ enable: false, mask: 0, status: 0, msiAddr: 0n, msiData: 0, irqNum: 0, sent: false });

/** The versioned save record of an object's state. */
export interface McObjectRecord {
  readonly version: 1;
  readonly enabled: boolean;
  readonly irqs: readonly { enable: boolean; mask: number; status: number }[];
}

export class McObject {
  readonly vendor = FSL_MC_VENDOR_FREESCALE;
  verMajor = 1;
  verMinor = 0;
  label = '';
  enabled = false;
  /** Open sessions on any portal (FSL_MC_OBJ_STATE_OPEN while > 0). */
  openCount = 0;
  /** Resets done (object reset or a container reset reaching it): what tests observe. */
  resets = 0;
  plugged = true;
  /** The container holding this object (null only for the root DPRC). */
  container: McContainer | null = null;
  readonly irqs: McIrqState[];
  regions: McRegionHw[] = [];
  /** Set by the MC this object belongs to. */
  msiSink: McMsiSink = () => {};

  constructor(
    readonly type: string,
    readonly id: number,
    irqCount: number,
  ) {
    this.irqs = Array.from({ length: irqCount }, freshIrq);
  }

  /** An interrupt cause happened: latch it in the status and let updateIrq decide on an MSI. */
  assertIrq(index: number, cause: number): void {
    const irq = this.irqs[index];
    if (irq === undefined) throw new VfioError('EINVAL', `${this.type}.${this.id} has no irq ${index}`);
    irq.status = (irq.status | cause) >>> 0;
    this.updateIrq(index);
  }

  /** The one place an MSI is sent: enabled, a cause unmasked and pending, an MSI programmed, not sent yet. */
  updateIrq(index: number): void {
    const irq = this.irqs[index];
    if (irq === undefined) return;
    const pending = irq.enable && (irq.status & irq.mask) !== 0;
    if (!pending) {
      irq.sent = false;
      return;
    }
    if (irq.sent || irq.msiAddr === 0n) return;
    irq.sent = true;
    this.msiSink(irq.msiAddr, irq.msiData);
  }

  /** The object's reset (OBJ_CMDID_RESET, or a container reset reaching it): disabled, interrupts quiet. */
  reset(): void {
    this.resets++;
    this.enabled = false;
    for (const irq of this.irqs) {
      irq.enable = false;
      irq.mask = 0;
      irq.status = 0;
      irq.sent = false;
    }
  }

  save(): McObjectRecord {
    return { version: 1, enabled: this.enabled, irqs: this.irqs.map((i) => ({ enable: i.enable, mask: i.mask, status: i.status })) };
  }

  load(rec: McObjectRecord): void {
    if (rec.version !== 1 || rec.irqs.length !== this.irqs.length) throw new VfioError('EINVAL', `${this.type}.${this.id}: bad state record`);
    this.enabled = rec.enabled;
    rec.irqs.forEach((r, i) => {
      const irq = this.irqs[i];
      if (irq !== undefined) Object.assign(irq, { enable: r.enable, mask: r.mask, status: r.status, sent: false });
    });
  }

  /** Releases host resources the object holds (memfds). */
  destroy(): void {}
}

/** A DPRC: a container of objects and child containers, with its own MC portal (region 0) and one irq. */
export class McContainer extends McObject {
  readonly children: McObject[] = [];
  icid: number;
  constructor(id: number, icid: number) {
    super('dprc', id, 1);
    this.icid = icid;
    this.verMajor = 6;
    this.verMinor = 6;
  }

  add(obj: McObject): void {
    obj.container = this;
    this.children.push(obj);
  }

  /** The container itself and every container below it. */
  *containers(): Generator<McContainer> {
    yield this;
    for (const c of this.children) if (c instanceof McContainer) yield* c.containers();
  }
}

/** A DPNI (network interface): its link raises DPNI_IRQ_EVENT_LINK_CHANGED on irq 0. */
export class DpniHw extends McObject {
  linkUp = false;
  readonly mac: Uint8Array;
  constructor(id: number) {
    super('dpni', id, 1);
    this.verMajor = 7;
    this.mac = Uint8Array.of(0x02, 0x00, 0x00, 0x00, 0x00, id & 0xff);
  }

  /** The PHY side of the link changed. */
  setLink(up: boolean): void {
    if (up === this.linkUp) return;
    this.linkUp = up;
    this.assertIrq(0, DPNI_IRQ_EVENT_LINK_CHANGED);
  }

  override reset(): void {
    super.reset();
    this.linkUp = false;
  }
}

/** A DPBP (buffer pool) with its hardware buffer pool id. */
export class DpbpHw extends McObject {
  constructor(
    id: number,
    readonly bpid: number,
  ) {
    super('dpbp', id, 0);
    this.verMajor = 3;
    this.verMinor = 2;
  }
}

/** A DPCON (channel concentrator). */
export class DpconHw extends McObject {
  constructor(id: number) {
    super('dpcon', id, 0);
    this.verMajor = 3;
    this.verMinor = 2;
  }
}

/** A QBMan software portal window: real memory in a memfd, mappable, zeroed by the DPIO's reset. */
class QbmanWindow implements McRegionHw {
  readonly type = 1;
  readonly mmapFd: number;
  constructor(
    readonly baseAddress: bigint,
    readonly baseOffset: number,
    readonly size: number,
    readonly flags: number,
    name: string,
  ) {
    this.mmapFd = memfdCreate(name, size);
  }

  read(off: number, buf: Uint8Array): void {
    if (off < 0 || off + buf.length > this.size) throw new VfioError('EINVAL', 'qbman window: access outside');
    buf.fill(0);
    pread(this.mmapFd, buf, off);
  }

  write(off: number, buf: Uint8Array): void {
    if (off < 0 || off + buf.length > this.size) throw new VfioError('EINVAL', 'qbman window: access outside');
    pwrite(this.mmapFd, buf, off);
  }

  clear(): void {
    pwrite(this.mmapFd, new Uint8Array(this.size), 0);
  }

  close(): void {
    close(this.mmapFd);
  }
}

/** QBMan portal windows: cache-enabled at QBMAN_CENA_BASE, cache-inhibited at QBMAN_CINH_BASE, 64 KiB each. */
export const QBMAN_CENA_BASE = 0x8_1800_0000n;
export const QBMAN_CINH_BASE = 0x8_1c00_0000n;
export const QBMAN_PORTAL_STRIDE = 0x1_0000;

/** A DPIO: one QBMan software portal (CENA + CINH windows, page aligned, so a user may map them) and one irq. */
export class DpioHw extends McObject {
  private readonly windows: QbmanWindow[];
  constructor(id: number) {
    super('dpio', id, 1);
    this.verMajor = 4;
    const off = id * QBMAN_PORTAL_STRIDE;
    this.windows = [
      new QbmanWindow(QBMAN_CENA_BASE, off, QBMAN_PORTAL_STRIDE, 0x3, `dpio.${id}-cena`),
      new QbmanWindow(QBMAN_CINH_BASE, off, QBMAN_PORTAL_STRIDE, 0x0, `dpio.${id}-cinh`),
    ];
    this.regions = [...this.windows];
  }

  override reset(): void {
    super.reset();
    for (const w of this.windows) w.clear();
  }

  override destroy(): void {
    for (const w of this.windows) w.close();
  }
}
