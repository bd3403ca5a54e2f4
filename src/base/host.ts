// The simulated machine: one sysfs tree, its buses, classes, IOMMU groups and /dev nodes. Every device
// belongs to one Host; tests make a fresh Host each, so nothing leaks between them. Subsystems keep their
// per-host globals in a WeakMap<Host, State> of their own.
import { Sysfs } from './sysfs.js';
import type { SysfsDir } from './sysfs.js';
import { Ida } from './ida.js';
import { Devfs } from './devfs.js';
import { silentLogger } from './log.js';
import type { Logger } from './log.js';
import type { Bus } from './bus.js';
import type { DeviceClass } from './class.js';

export interface HostOptions {
  readonly logger?: Logger;
}

export class Host {
  readonly sysfs = new Sysfs();
  readonly devfs = new Devfs();
  readonly logger: Logger;
  readonly buses = new Map<string, Bus>();
  readonly classes = new Map<string, DeviceClass>();
  /** iommu_group ids (drivers/iommu/iommu.c iommu_group_ida). */
  readonly iommuGroupIda = new Ida();
  /** `/sys/devices`. */
  readonly devicesDir: SysfsDir;
  /** `/sys/devices/virtual`: home of class devices without a parent. */
  readonly virtualDir: SysfsDir;
  readonly busDir: SysfsDir;
  readonly classDir: SysfsDir;
  readonly iommuGroupsDir: SysfsDir;

  constructor(opts: HostOptions = {}) {
    this.logger = opts.logger ?? silentLogger;
    this.devicesDir = this.sysfs.mkdirp('/devices');
    this.virtualDir = this.sysfs.mkdirp('/devices/virtual');
    this.busDir = this.sysfs.mkdirp('/bus');
    this.classDir = this.sysfs.mkdirp('/class');
    this.iommuGroupsDir = this.sysfs.mkdirp('/kernel/iommu_groups');
  }
}
