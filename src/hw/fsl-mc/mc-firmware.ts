// The management complex (MC) firmware of a DPAA2 SoC: a root DPRC holding objects and child DPRCs, and the
// MC command portals (64-byte MMIO windows) through which software sends commands, as mc-sys.c
// mc_send_command() does: the parameters first, then the header, whose write submits the command; the MC
// answers in the same window (header status, response parameters). Sessions (tokens) are per portal.
import { VfioError } from '../../uapi/errno.js';
import { DPRC_REGION_TYPE_MC_PORTAL, DPRC_RESET_OPTION_NON_RECURSIVE, FSL_MC_OBJ_STATE_OPEN, FSL_MC_OBJ_STATE_PLUGGED, MC_CMD_SIZE, MC_CMD_STATUS_READY, mcReadHeader } from './mc-cmd.js';
import { McContainer, McObject } from './mc-objects.js';
import type { McMsiSink, McRegionHw } from './mc-objects.js';
import { mcExecute } from './mc-commands.js';

/** The MC portals' window: portal n at MC_PORTALS_BASE + n * MC_PORTAL_STRIDE, MC_CMD_SIZE bytes each. */
export const MC_PORTALS_BASE = 0x8_0c00_0000n;
export const MC_PORTAL_STRIDE = 0x1_0000;

/** An MC command portal: a register window whose header write runs the command in the MC. */
export class McPortal implements McRegionHw {
  readonly type = DPRC_REGION_TYPE_MC_PORTAL;
  readonly baseAddress = MC_PORTALS_BASE;
  readonly size = MC_CMD_SIZE;
  readonly flags = 0;
  readonly mmapFd = -1;
  readonly regs = new Uint8Array(MC_CMD_SIZE);
  /** Open sessions: token -> object (an object may be open once per portal). */
  readonly sessions = new Map<number, McObject>();
  /** Commands this portal ran (a counter for tests). */
  commands = 0;
  private nextToken = 1;

  constructor(
    readonly mc: ManagementComplex,
    /** The container whose objects this portal may reach (its own DPRC's, or the dpmcp's container). */
    readonly scope: McContainer,
    readonly index: number,
  ) {}

  get baseOffset(): number {
    return this.index * MC_PORTAL_STRIDE;
  }

  read(off: number, buf: Uint8Array): void {
    if (off < 0 || off + buf.length > MC_CMD_SIZE) throw new VfioError('EINVAL', 'mc portal: access outside the window');
    buf.set(this.regs.subarray(off, off + buf.length));
  }

  /** A store; one that reaches the header (the first word) submits the command if its status is READY. */
  write(off: number, buf: Uint8Array): void {
    if (off < 0 || off + buf.length > MC_CMD_SIZE) throw new VfioError('EINVAL', 'mc portal: access outside the window');
    this.regs.set(buf, off);
    if (off < 8 && mcReadHeader(this.regs).status === MC_CMD_STATUS_READY) {
      this.commands++;
      mcExecute(this.mc, this);
    }
  }

  /** A token for a new session on `obj`. */
  openSession(obj: McObject): number {
    const token = this.nextToken;
    this.nextToken = this.nextToken >= 0xffff ? 1 : this.nextToken + 1;
    this.sessions.set(token, obj);
    obj.openCount++;
    return token;
  }

  closeSession(token: number): void {
    const obj = this.sessions.get(token);
    if (obj === undefined) return;
    this.sessions.delete(token);
    obj.openCount--;
  }

  /** Whether `obj` is already open on this portal. */
  isOpen(obj: McObject): boolean {
    for (const o of this.sessions.values()) if (o === obj) return true;
    return false;
  }
}

/** A DPMCP: an extra MC portal (region 0) a container's software allocates for itself, with one irq. */
export class DpmcpHw extends McObject {
  portal: McPortal | null = null;
  constructor(id: number) {
    super('dpmcp', id, 1);
    this.verMajor = 3;
  }
}

export interface ManagementComplexOptions {
  /** The root DPRC's id (default 1) and ICID (default 0). */
  readonly rootId?: number;
  readonly rootIcid?: number;
  /** Where objects' MSIs go. */
  readonly msi?: McMsiSink;
}

export class ManagementComplex {
  readonly root: McContainer;
  /** The root DPRC's portal, which firmware (the device tree) hands to the fsl-mc bus driver. */
  readonly rootPortal: McPortal;
  private readonly portals: McPortal[] = [];
  private msi: McMsiSink;

  constructor(opts: ManagementComplexOptions = {}) {
    this.msi = opts.msi ?? (() => {});
    this.root = new McContainer(opts.rootId ?? 1, opts.rootIcid ?? 0);
    this.root.msiSink = (a, d) => this.msi(a, d);
    // The root DPRC reports no regions (region_count 0): its portal comes from the device tree.
    this.rootPortal = this.newPortal(this.root);
  }

  /** Points every object's MSIs at `sink` (the machine's MSI controller). */
  setMsiSink(sink: McMsiSink): void {
    this.msi = sink;
  }

  private newPortal(scope: McContainer): McPortal {
    const p = new McPortal(this, scope, this.portals.length);
    this.portals.push(p);
    return p;
  }

  /** Creates a child DPRC in `parent`, with its own portal as region 0. */
  addContainer(parent: McContainer, id: number, icid: number): McContainer {
    this.checkFree('dprc', id);
    const c = new McContainer(id, icid);
    c.regions = [this.newPortal(c)];
    this.addObject(parent, c);
    return c;
  }

  /** Places `obj` in `container` (a dpmcp gets its portal here). */
  addObject(container: McContainer, obj: McObject): void {
    if (!(obj instanceof McContainer)) this.checkFree(obj.type, obj.id);
    if (obj instanceof DpmcpHw) {
      obj.portal = this.newPortal(container);
      obj.regions = [obj.portal];
    }
    obj.msiSink = (a, d) => this.msi(a, d);
    container.add(obj);
  }

  private checkFree(type: string, id: number): void {
    if (this.find(type, id) !== undefined) throw new VfioError('EEXIST', `${type}.${id} exists in the MC`);
  }

  /** The object `type.id` anywhere in the MC. */
  find(type: string, id: number): McObject | undefined {
    for (const c of this.root.containers()) {
      if (type === 'dprc' && c.id === id) return c;
      for (const o of c.children) if (o.type === type && o.id === id) return o;
    }
    return undefined;
  }

  /** fsl_mc_obj_desc.state of `obj`. */
  stateOf(obj: McObject): number {
    return (obj.openCount > 0 ? FSL_MC_OBJ_STATE_OPEN : 0) | (obj.plugged ? FSL_MC_OBJ_STATE_PLUGGED : 0);
  }

  /**
   * The container reset: every object inside is reset and its sessions closed; child containers are entered
   * unless `options` has DPRC_RESET_OPTION_NON_RECURSIVE (then they, and what they hold, are left alone).
   */
  resetContainer(c: McContainer, options: number): void {
    const recursive = (options & DPRC_RESET_OPTION_NON_RECURSIVE) === 0;
    for (const obj of c.children) {
      if (obj instanceof McContainer) {
        if (recursive) {
          this.resetContainer(obj, options);
          this.closeSessionsOf(obj);
          obj.reset();
        }
        continue;
      }
      this.closeSessionsOf(obj);
      obj.reset();
    }
  }

  /** Closes every session on `obj`, on any portal. */
  closeSessionsOf(obj: McObject): void {
    for (const p of this.portals) {
      for (const [token, o] of p.sessions) if (o === obj) p.closeSession(token);
    }
  }

  /** Releases the host resources objects hold. */
  destroy(): void {
    for (const c of [...this.root.containers()]) for (const o of c.children) if (!(o instanceof McContainer)) o.destroy();
  }
}
