// The mediated-device objects (include/linux/mdev.h): struct mdev_device, mdev_type, mdev_parent and the
// mdev_driver a parent names, plus the per-host state mdev_core.c keeps in globals (mdev_list).
import { Device } from '../base/device.js';
import type { Host } from '../base/host.js';
import type { SysfsDir, SysfsLink } from '../base/sysfs.js';

/** What a parent driver declares per type (the sysfs_name and pretty_name of struct mdev_type). */
export interface MdevTypeSpec {
  /** The type directory is `<parent driver>-<sysfsName>`. */
  readonly sysfsName: string;
  /** The `name` file; sysfsName when absent. */
  readonly prettyName?: string;
}

/**
 * struct mdev_driver: the driver every mdev of a parent binds to. Frozen tables, one per driver; the same
 * table may serve parents on several hosts.
 */
export interface MdevDriver {
  /** The driver's name on the mdev bus (struct device_driver.name). */
  readonly name: string;
  /** The type's `device_api` file, e.g. 'vfio-pci'. */
  readonly deviceApi: string;
  /**
   * With no getAvailable, the core counts instances per parent starting here: a create with none left
   * fails with EUSERS, and the last put of an mdev gives its instance back.
   */
  readonly maxInstances?: number;
  /** The `available_instances` file for drivers that keep their own budget (their probe enforces it). */
  getAvailable?(type: MdevType): number;
  /** The type's `description` file; absent: the file does not exist. */
  showDescription?(type: MdevType): string;
  /** Called when a new mdev binds: create and register its VFIO device. Throwing fails the create with that errno. */
  probe(mdev: MdevDevice): void;
  /**
   * Opposite of probe: unregister the VFIO device (waiting for its users) and drop it. The kernel's remove
   * blocks; here it returns a promise that settles once the VFIO device is gone.
   */
  remove(mdev: MdevDevice): Promise<void> | void;
}

/** struct mdev_type as the core builds it from a driver's spec, one per parent and spec. */
export class MdevType<S extends MdevTypeSpec = MdevTypeSpec> {
  /** `/sys/.../mdev_supported_types/<driver>-<sysfsName>` while the parent is registered. */
  kobj: SysfsDir<MdevType> | null = null;
  /** Its `devices/` directory: a link per mdev of this type. */
  devicesDir: SysfsDir | null = null;

  constructor(
    readonly parent: MdevParent,
    readonly spec: S,
  ) {}

  get sysfsName(): string {
    return this.spec.sysfsName;
  }

  /** The `name` file's value (pretty_name, else sysfs_name). */
  get prettyName(): string {
    return this.spec.prettyName ?? this.spec.sysfsName;
  }

  /** The directory name: `<parent driver>-<sysfsName>`. */
  get dirName(): string {
    return `${this.parent.driverString}-${this.spec.sysfsName}`;
  }

  get deviceApi(): string {
    return this.parent.driver.deviceApi;
  }

  /** The `available_instances` value. */
  availableInstances(): number {
    const drv = this.parent.driver;
    return drv.getAvailable !== undefined ? drv.getAvailable(this) : this.parent.availableInstances;
  }

  /** The `description` value, or null when the driver has none. */
  description(): string | null {
    return this.parent.driver.showDescription?.(this) ?? null;
  }
}

/** struct mdev_parent: a device that mdevs hang off, with its types. */
export class MdevParent {
  readonly types: MdevType[] = [];
  /** The core's instance count (drivers with maxInstances). */
  availableInstances: number;
  /** `<parent>/mdev_supported_types` while registered. */
  kset: SysfsDir | null = null;
  /** `/sys/class/mdev_bus/<parent>` (class_compat link). */
  compatLink: SysfsLink | null = null;
  /** Set once unregistration starts: creates and removes then fail with ENODEV (the unreg_sem write side). */
  unregistering = false;
  /** Removals under way (readers of unreg_sem): unregistration waits for them. */
  readonly removals = new Set<Promise<void>>();

  constructor(
    readonly host: Host,
    readonly dev: Device,
    readonly driver: MdevDriver,
    /** dev_driver_string(parent): the type directories' prefix. */
    readonly driverString: string,
  ) {
    this.availableInstances = driver.maxInstances ?? 0;
  }
}

/** struct mdev_device: a base Device named by its UUID, on the mdev bus, child of its parent. */
export class MdevDevice extends Device {
  /** Cleared by remove (mdev->active): a second remove fails with EAGAIN. */
  active = false;
  /** `mdev_type` link while created. */
  typeLink: SysfsLink | null = null;
  /** The type's `devices/<uuid>` link while created. */
  devicesLink: SysfsLink | null = null;

  constructor(
    readonly type: MdevType,
    /** Lower-case UUID text, also the device name. */
    readonly uuid: string,
    /**
     * What the creator asked for beyond the type (e.g. mtty's port backends), for the driver's probe and init
     * to read and validate with its own schema, as the kernel's init reads `mdev->type`. Undefined: nothing.
     */
    readonly params: unknown = undefined,
  ) {
    super();
  }
}

/** mdev_core.c's globals, per host: every mdev by UUID (mdev_list). */
export interface MdevHostState {
  readonly mdevs: Map<string, MdevDevice>;
  /** Registered parents, in registration order. */
  readonly parents: Set<MdevParent>;
}

const states = new WeakMap<Host, MdevHostState>();

export function mdevHostState(host: Host): MdevHostState {
  let s = states.get(host);
  if (s === undefined) {
    s = { mdevs: new Map(), parents: new Set() };
    states.set(host, s);
  }
  return s;
}
