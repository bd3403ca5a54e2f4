// What `vfio-ts serve` runs: one simulated Host with the registry's driver modules loaded (the mdev parents),
// the mdevs created on it and their vfio-user exports; the operations the control socket offers (create,
// remove, unregister, ...). Nothing here is specific to one driver: what differs comes from its descriptor.
import { randomUUID } from 'node:crypto';
import { Host } from '../base/host.js';
import type { Logger } from '../base/log.js';
import { deviceReleaseDriver } from '../base/dd.js';
import { devicePath } from '../base/device.js';
import type { Device } from '../base/device.js';
import { mdevCreate, mdevFind, mdevRemove } from '../mdev/mdev-device.js';
import { mdevPendingRemoval } from '../mdev/mdev-bus.js';
import { mdevParentType, mdevParents } from '../mdev/mdev-parent.js';
import { mdevHostState } from '../mdev/mdev-objects.js';
import type { MdevDevice, MdevParent } from '../mdev/mdev-objects.js';
import { mdevVfioDevice } from '../mdev/mdev-vfio.js';
import { vfioConfigure } from '../vfio/core-state.js';
import { subscribeLifecycle } from '../vfio/events.js';
import { VfioDevice } from '../vfio/vfio-device.js';
import { VfioError } from '../uapi/errno.js';
import type { DriverParams, VfioDriverDescriptor, VfioDriverModule } from '../drivers/descriptor.js';
import type { DriverRegistry } from '../drivers/registry.js';
import type { DeviceInfo, MdevTypeInfo } from './control-protocol.js';
import { DeviceExports } from './export-server.js';
import { PciMachine } from './pci-machine.js';
import { devfsList } from './devfs-list.js';
import { PendingUnregisters } from './pending-unregisters.js';
import type { PciFunctionInfo } from './pci-machine.js';
import type { PciRootConfig } from '../hw/pci/machine-spec.js';
import type { FslMcConfig } from '../hw/fsl-mc/machine-spec.js';
import { fslMcMachineBus } from './fsl-mc-machine.js';
import { ambaMachineBus, platformMachineBus } from './mmio-machine.js';
import type { PlatformNodeConfig } from '../hw/platform/machine-spec.js';
import type { AmbaNodeConfig } from '../hw/amba/machine-spec.js';
import type { VfioUserTuning } from './config.js';
import { Machine } from './machine.js';
import type { MachineBus } from './machine.js';

export interface RuntimeOptions {
  readonly logger: Logger;
  readonly requestIntervalMs: number;
  /** The vfio-user server's hot-path tuning (the config's `vfioUser`). */
  readonly vfioUser?: VfioUserTuning;
  /** The drivers whose modules the host loads. */
  readonly registry: DriverRegistry;
  /** Each module's options (the config's `modules.<driver>`); `{}` for a driver not named. */
  readonly moduleOptions?: Readonly<Record<string, DriverParams>>;
  /** The simulated PCI machine's root buses, built before any module loads. */
  readonly pci?: readonly PciRootConfig[];
  /** The simulated DPAA2 management complex, built before any module loads. */
  readonly fslMc?: FslMcConfig;
  /** Platform and AMBA devices from device-tree nodes, built before any module loads. */
  readonly platform?: readonly PlatformNodeConfig[];
  readonly amba?: readonly AmbaNodeConfig[];
}

export interface CreateOptions {
  readonly uuid?: string;
  /** Where to export the new device; nothing is exported when absent. */
  readonly socket?: string;
  /** What the driver's config keys parsed to (the new mdev carries them). */
  readonly params?: DriverParams;
}

/** A driver's module loaded on the host: its descriptor and what its init returned. */
interface LoadedModule {
  readonly driver: VfioDriverDescriptor;
  readonly module: VfioDriverModule;
}

export class Runtime {
  readonly host: Host;
  readonly logger: Logger;
  /** Loaded driver modules, in load order, by driver name. */
  readonly #modules = new Map<string, LoadedModule>();
  readonly #machine: Machine;
  #pciMachine: PciMachine | null = null;
  readonly #exports: DeviceExports;
  /** mdevs that an unregister or remove is working on: a second one fails with EBUSY. */
  readonly #busy = new Set<MdevDevice>();
  /** Devices of the machine an unbind is working on. */
  readonly #busyBound = new Set<Device>();
  /** The waits for users under way, as status shows them. */
  readonly #pending = new PendingUnregisters();
  #closing: Promise<void> | null = null;

  private constructor(opts: RuntimeOptions) {
    this.logger = opts.logger;
    this.host = new Host({ logger: opts.logger });
    vfioConfigure(this.host, { requestIntervalMs: opts.requestIntervalMs });
    this.#exports = new DeviceExports(opts.logger, opts.vfioUser);
    this.#machine = new Machine(this.host);
  }

  /** A host with every driver module of `opts.registry` loaded, in registry order; a failing init unloads the rest. */
  static async start(opts: RuntimeOptions): Promise<Runtime> {
    const rt = new Runtime(opts);
    try {
      // Hardware first: a driver module binds what matches when it registers, as at boot.
      rt.#pciMachine = await PciMachine.start(rt.host, opts.pci ?? [], opts.logger);
      rt.#machine.add(rt.#pciMachine);
      if (opts.platform !== undefined) rt.#machine.add(await platformMachineBus(rt.host, opts.platform, opts.logger));
      if (opts.amba !== undefined) rt.#machine.add(await ambaMachineBus(rt.host, opts.amba, opts.logger));
      if (opts.fslMc !== undefined) rt.#machine.add(fslMcMachineBus(rt.host, opts.fslMc, opts.logger));
      for (const driver of opts.registry.list()) {
        const module = driver.register(rt.host, opts.moduleOptions?.[driver.name] ?? {});
        rt.#modules.set(driver.name, { driver, module });
      }
      // VFs last: the PF's own driver (a module's) may have bound it meanwhile.
      rt.#pciMachine.enableVfsAtStart();
    } catch (err) {
      await rt.#unloadModules();
      await rt.#machine.close();
      throw err;
    }
    return rt;
  }

  /** Module exits, in reverse order of init. */
  async #unloadModules(): Promise<void> {
    for (const m of [...this.#modules.values()].reverse()) await m.module.unregister();
    this.#modules.clear();
  }

  /** The guest-side hint of the driver named `driverName`. */
  guestHint(driverName: string): string | undefined {
    return this.#modules.get(driverName)?.driver.guestHint;
  }

  /** The parent a new device of `driverName` goes to when the config names none: its module's only parent. */
  defaultParent(driverName: string): string {
    const m = this.#modules.get(driverName);
    if (m === undefined) throw new VfioError('ENODEV', `driver ${driverName} is not loaded`);
    const names = m.module.parents().map((p) => p.dev.name);
    if (names.length === 1 && names[0] !== undefined) return names[0];
    throw new VfioError('EINVAL', `${driverName} has ${names.length === 0 ? 'no parent' : `several parents (${names.join(', ')})`}: name one`);
  }

  /** The loaded module that registered the parent named `parentName`. */
  #moduleOf(parentName: string): LoadedModule | undefined {
    for (const m of this.#modules.values()) if (m.module.parents().some((p) => p.dev.name === parentName)) return m;
    return undefined;
  }

  /** Every type of every parent, with its available instances now. */
  mdevTypes(): MdevTypeInfo[] {
    return mdevParents(this.host).flatMap((p) =>
      p.types.map((t) => ({
        parent: p.dev.name,
        id: t.dirName,
        name: t.prettyName,
        description: t.description()?.trim() ?? null,
        deviceApi: t.deviceApi,
        availableInstances: t.availableInstances(),
      })),
    );
  }

  /**
   * Creates an mdev of `type` ("2", or "mtty-2") on the parent named `parentName` and, given a socket path,
   * exports its VFIO device there. The mdev is removed again if the export fails.
   */
  async createMdev(parentName: string, type: string, opts: CreateOptions = {}): Promise<DeviceInfo> {
    this.#checkOpen();
    const parent = this.#parent(parentName);
    const t = mdevParentType(parent, type);
    if (t === undefined) {
      throw new VfioError('EINVAL', `parent ${parentName} has no type '${type}' (it has: ${parent.types.map((x) => x.dirName).join(', ')})`);
    }
    const uuid = (opts.uuid ?? randomUUID()).toLowerCase();
    const mdev = mdevCreate(t, uuid, opts.params);
    const vdev = mdevVfioDevice(mdev);
    if (vdev === null) throw new Error(`mdev ${uuid} has no VFIO device after probe`);
    this.logger.info({ mdev: uuid, type: t.dirName, device: vdev.name }, 'mdev created');
    if (opts.socket !== undefined) {
      try {
        await this.exportDevice(vdev, opts.socket);
      } catch (err) {
        // Balances mdevCreate above: nothing half-made stays behind.
        await this.#removeMdev(mdev);
        throw err;
      }
    }
    return this.deviceInfo(mdev);
  }

  /** Exports `vdev` on a vfio-user socket (a stale socket file there is replaced). */
  exportDevice(vdev: VfioDevice, socketPath: string): Promise<void> {
    return this.#exports.export(vdev, socketPath);
  }

  /** `<runDir>/<prefix><n>.sock` with the lowest n no export uses and no file occupies. */
  nextSocketPath(runDir: string, prefix: string): string {
    return this.#exports.nextSocketPath(runDir, prefix);
  }

  /**
   * Removes an mdev: its socket goes away at once, then the VFIO device is unregistered (asking attached
   * clients to let go; `onRequest` hears each request count) and the mdev is put.
   */
  async removeMdev(uuid: string, onRequest?: (count: number) => void): Promise<void> {
    const mdev = mdevFind(this.host, uuid);
    if (mdev === undefined) throw new VfioError('ENODEV', `no mdev ${uuid}`);
    await this.#removeMdev(mdev, onRequest);
  }

  async #removeMdev(mdev: MdevDevice, onRequest?: (count: number) => void): Promise<void> {
    if (this.#busy.has(mdev)) throw new VfioError('EBUSY', `mdev ${mdev.uuid} is already being removed or unregistered`);
    this.#busy.add(mdev);
    // mdevRemove's last put frees the mdev: everything needed afterwards is read now.
    const uuid = mdev.uuid;
    const vdev = mdevVfioDevice(mdev);
    const name = vdev?.name ?? null;
    const stop = name !== null && onRequest !== undefined ? this.#watchRequests(name, onRequest) : null;
    const endPending = vdev === null ? null : this.#beginPending(mdev, vdev);
    try {
      if (vdev !== null) await this.#exports.unexport(vdev);
      await mdevRemove(mdev);
    } finally {
      endPending?.();
      stop?.();
      this.#busy.delete(mdev);
    }
    this.logger.info({ mdev: uuid, device: name }, 'mdev removed');
  }

  /**
   * Unregisters a VFIO device (by `vfioN` or mdev UUID) the way unbinding its driver does: the socket goes,
   * the device becomes unreachable, and the promise resolves once every client let go. The mdev stays,
   * unbound, until `mdev remove`.
   */
  async unregister(nameOrUuid: string, onRequest: (count: number) => void): Promise<{ name: string; uuid: string }> {
    this.#checkOpen();
    const mdev = this.#findMdevOf(nameOrUuid);
    const vdev = mdevVfioDevice(mdev);
    if (vdev === null) throw new VfioError('ENODEV', `${nameOrUuid} has no VFIO device (already unregistered)`);
    if (this.#busy.has(mdev)) throw new VfioError('EBUSY', `${vdev.name} is already being unregistered or removed`);
    this.#busy.add(mdev);
    const name = vdev.name;
    const uuid = mdev.uuid;
    const stop = this.#watchRequests(name, onRequest);
    const endPending = this.#beginPending(mdev, vdev);
    try {
      await this.#exports.unexport(vdev);
      // The driver's remove unregisters and puts the VFIO device; the bus keeps its promise for us.
      deviceReleaseDriver(mdev);
      await mdevPendingRemoval(mdev);
    } finally {
      endPending();
      stop();
      this.#busy.delete(mdev);
    }
    this.logger.info({ device: name, mdev: uuid }, 'device unregistered');
    return { name, uuid };
  }

  /** Records the wait for `vdev`'s users for status; the clients count compares `vdev` by identity only. */
  #beginPending(busDev: Device, vdev: VfioDevice): () => void {
    return this.#pending.begin(busDev, vdev, () => this.#exports.clients(vdev));
  }

  #watchRequests(name: string, onRequest: (count: number) => void): () => void {
    return subscribeLifecycle((e) => {
      if (e.event === 'request' && e.name === name) onRequest(e.value ?? 0);
    });
  }

  /** A PNG of the display of a device whose driver has one (mdpy, mbochs). */
  screenshot(nameOrUuid: string): Buffer {
    const mdev = this.#findMdevOf(nameOrUuid);
    const vdev = mdevVfioDevice(mdev);
    if (vdev === null) throw new VfioError('ENODEV', `${nameOrUuid} has no VFIO device`);
    const driver = this.#moduleOf(mdev.type.parent.dev.name)?.driver;
    if (driver?.screenshot === undefined) throw new VfioError('EINVAL', `${vdev.name} (${vdev.ops?.name ?? '?'}) has no display to take a screenshot of`);
    return driver.screenshot(vdev);
  }

  /** Every function of the simulated PCI machine. */
  lspci(): PciFunctionInfo[] {
    if (this.#pciMachine === null) throw new VfioError('ENODEV', 'no PCI machine');
    return this.#pciMachine.lspci();
  }

  /**
   * Binds the machine's device `name` (a PCI function's BDF, a platform device's name...) to its bus's driver
   * `driver` (a registry driver binds its own bus driver, e.g. `vfio-pci`); when the driver made a VFIO device
   * and a socket is given, exports it there.
   */
  async bindDevice(name: string, driver: string, opts: { readonly socket?: string } = {}): Promise<DeviceInfo> {
    this.#checkOpen();
    const d = this.#modules.get(driver)?.driver;
    const found = this.#machine.device(name);
    const { bus } = found;
    const busDriver = d !== undefined && d.bus === bus.name ? (d.busDriver ?? d.name) : driver;
    // A device its driver already took (a DPRC's objects follow it to vfio-fsl-mc) is only exported.
    const taken = boundVfioDevice(found.dev);
    if (taken !== null && this.#exports.socketOf(taken) !== null) {
      throw new VfioError('EBUSY', `${name} is bound to ${found.dev.driver?.name ?? '?'} (unbind it first)`);
    }
    const already = found.dev.driver?.name === busDriver && taken !== null;
    const hostDriver = found.dev.driver;
    if (!already && hostDriver !== null && boundVfioDevice(found.dev) === null) {
      // Bound to a host driver (fsl_mc_dprc, pci-pf-stub...): taken from it first, as `driverctl set-override` does.
      await this.#machine.unbind(bus, found.dev);
      this.logger.info({ bus: bus.name, device: name, driver: hostDriver.name }, 'device taken from its host driver');
    }
    const { dev } = already ? found : this.#machine.bind(name, busDriver);
    const vdev = boundVfioDevice(dev);
    if (vdev !== null && opts.socket !== undefined) {
      try {
        await this.exportDevice(vdev, opts.socket);
      } catch (err) {
        // Balances the bind above.
        if (!already) await this.#machine.unbind(bus, dev);
        throw err;
      }
    }
    this.logger.info({ bus: bus.name, device: dev.name, driver: busDriver, vfio: vdev?.name ?? null }, 'device bound');
    return this.boundDeviceInfo(bus, dev);
  }

  /** Unbinds `name` from its driver: its socket goes at once, then the driver's remove waits for its users. */
  async unbindDevice(name: string, onRequest: (count: number) => void): Promise<{ name: string; device: string }> {
    this.#checkOpen();
    const { bus, dev } = this.#machine.device(name);
    return this.#unbind(bus, dev, onRequest);
  }

  async #unbind(bus: MachineBus, dev: Device, onRequest?: (count: number) => void): Promise<{ name: string; device: string }> {
    if (this.#busyBound.has(dev)) throw new VfioError('EBUSY', `${dev.name} is already being unbound`);
    this.#busyBound.add(dev);
    const vdev = boundVfioDevice(dev);
    const name = vdev?.name ?? '';
    const stop = vdev !== null && onRequest !== undefined ? this.#watchRequests(vdev.name, onRequest) : null;
    const endPending = vdev === null ? null : this.#beginPending(dev, vdev);
    try {
      if (vdev !== null) await this.#exports.unexport(vdev);
      await this.#machine.unbind(bus, dev);
    } finally {
      endPending?.();
      stop?.();
      this.#busyBound.delete(dev);
    }
    this.logger.info({ bus: bus.name, device: dev.name, vfio: name }, 'device unbound');
    return { name, device: dev.name };
  }

  /** A device of the machine bound to a VFIO driver, as status shows it. */
  boundDeviceInfo(bus: MachineBus, dev: Device): DeviceInfo {
    const vdev = boundVfioDevice(dev);
    return this.#vfioInfo(vdev, dev, { driver: dev.driver?.name ?? '', uuid: null, parent: dev.name, type: bus.model(dev) });
  }

  /** What status shows of `vdev` (null: the bus device is not bound), made for `busDev` as `what` says. */
  #vfioInfo(vdev: VfioDevice | null, busDev: Device, what: Pick<DeviceInfo, 'driver' | 'uuid' | 'parent' | 'type'>): DeviceInfo {
    // An unregister under way: the device is unreachable but still held; say so rather than "unbound".
    const p = this.#pending.of(busDev);
    if (p !== undefined) {
      return { ...what, name: p.name, driver: p.driver, socket: null, sysfs: devicePath(busDev), state: 'unregistering', openCount: p.openCount, clients: p.clients(), requests: p.requests };
    }
    return {
      ...what,
      name: vdev?.name ?? '',
      driver: vdev?.ops?.name ?? what.driver,
      socket: vdev === null ? null : this.#exports.socketOf(vdev),
      sysfs: devicePath(vdev ?? busDev),
      state: vdev === null ? 'unbound' : vdev.regState,
      openCount: vdev?.openCount ?? 0,
      clients: vdev === null ? 0 : this.#exports.clients(vdev),
      requests: 0,
    };
  }

  /** Whether a PCI VMM (QEMU's vfio-user-pci) can attach `vfioN`: an mdev of a vfio-pci type, or a PCI function. */
  isPciDevice(name: string): boolean {
    for (const m of mdevHostState(this.host).mdevs.values()) {
      if (mdevVfioDevice(m)?.name === name) return m.type.deviceApi === 'vfio-pci';
    }
    return this.#boundVfio().some(({ bus, dev }) => bus.name === 'pci' && boundVfioDevice(dev)?.name === name);
  }

  /** The sysfs tree below `path`; for a path under /dev, the device nodes below it (/dev/vfio/0, ...). */
  ls(path: string): string[] {
    if (path === '/dev' || path.startsWith('/dev/')) return devfsList(this.host, path);
    const p = path.startsWith('/') ? path : `/sys/${path}`;
    return this.host.sysfs.tree(p);
  }

  /** Every mdev and its VFIO device (if bound). */
  devices(): DeviceInfo[] {
    const mdevs = [...mdevHostState(this.host).mdevs.values()].filter((m) => m.kobj !== null).map((m) => this.deviceInfo(m));
    const bound = this.#boundVfio().map(({ bus, dev }) => this.boundDeviceInfo(bus, dev));
    return [...mdevs, ...bound];
  }

  /** The machine's devices whose driver made a VFIO device. */
  #boundVfio(): { readonly bus: MachineBus; readonly dev: Device }[] {
    return this.#machine.devices().filter(({ dev }) => boundVfioDevice(dev) !== null);
  }

  deviceInfo(mdev: MdevDevice): DeviceInfo {
    const vdev = mdevVfioDevice(mdev);
    return this.#vfioInfo(vdev, mdev, { driver: '', uuid: mdev.uuid, parent: mdev.type.parent.dev.name, type: mdev.type.dirName });
  }

  /**
   * Shuts down: every socket closes, every mdev is removed (clients are asked to let go through their
   * REQ interrupt; after `graceMs` the server disconnects whoever still holds on), then the parents go.
   * Safe to repeat; later calls share the first one's promise.
   */
  close(graceMs: number, onProgress: (msg: string) => void): Promise<void> {
    this.#closing ??= this.#close(graceMs, onProgress);
    return this.#closing;
  }

  async #close(graceMs: number, onProgress: (msg: string) => void): Promise<void> {
    for (const vdev of this.#exports.devices()) await this.#exports.unexport(vdev);
    const mdevs = [...mdevHostState(this.host).mdevs.values()].filter((m) => m.kobj !== null && !this.#busy.has(m));
    const stop = subscribeLifecycle((e) => {
      if (e.event === 'request') onProgress(`${e.name}: asking its client to let go (request ${e.value ?? 0})`);
    });
    const bound = this.#boundVfio().filter(({ dev }) => !this.#busyBound.has(dev));
    const removals = Promise.all([
      ...mdevs.map((m) => this.#removeMdev(m).catch((err: unknown) => this.logger.error({ mdev: m.uuid, err: String(err) }, 'remove failed'))),
      ...bound.map(({ bus, dev }) => this.#unbind(bus, dev).catch((err: unknown) => this.logger.error({ device: dev.name, err: String(err) }, 'unbind failed'))),
    ]);
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), graceMs);
    });
    try {
      if ((await Promise.race([removals, grace])) === 'timeout') {
        onProgress(`clients still attached after ${graceMs} ms: disconnecting them`);
        await this.#exports.close();
        await removals;
      }
    } finally {
      clearTimeout(timer);
      stop();
    }
    await this.#exports.close();
    await this.#unloadModules();
    await this.#machine.close();
  }

  #checkOpen(): void {
    if (this.#closing !== null) throw new VfioError('ENODEV', 'the server is shutting down');
  }

  #parent(name: string): MdevParent {
    const parents = mdevParents(this.host);
    const p = parents.find((x) => x.dev.name === name);
    if (p === undefined) throw new VfioError('ENODEV', `no mdev parent '${name}' (there are: ${parents.map((x) => x.dev.name).join(', ')})`);
    return p;
  }

  /** The mdev whose VFIO device is `vfioN`, or the mdev named by a UUID. */
  #findMdevOf(nameOrUuid: string): MdevDevice {
    const byUuid = mdevFind(this.host, nameOrUuid);
    if (byUuid !== undefined) return byUuid;
    for (const m of mdevHostState(this.host).mdevs.values()) {
      if (mdevVfioDevice(m)?.name === nameOrUuid) return m;
    }
    throw new VfioError('ENODEV', `no device '${nameOrUuid}' (give a vfioN name or an mdev UUID; see 'vfio-ts status')`);
  }
}

/** The VFIO device a bus driver's probe made for `dev` (its drvdata), or null. */
function boundVfioDevice(dev: Device): VfioDevice | null {
  return dev.driverData instanceof VfioDevice ? dev.driverData : null;
}
