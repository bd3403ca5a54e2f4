// Registering a VFIO device with the core (vfio_main.c __vfio_register_dev / vfio_unregister_group_dev):
// registration makes an existing device reachable; unregister makes it unreachable first, then waits for
// every user to let go, asking them through ops.request.
import { deviceAdd, deviceDel, hostOf } from '../base/device.js';
import { numberedName } from '../base/names.js';
import { VfioError } from '../uapi/errno.js';
import { sanitizer } from '../sanitizer/sanitizer.js';
import { assignSingletonDeviceSet } from './device-set.js';
import { vfioDeviceGroupRegister, vfioDeviceGroupUnregister, vfioDeviceRemoveGroup, vfioDeviceSetGroup } from './group.js';
import type { VfioGroupType } from './group.js';
import { cdevAdd, cdevDel } from './cdev.js';
import { devicePutRegistration } from './registration-count.js';
import type { VfioDevice } from './vfio-device.js';
import { deviceLabel, opsOf, publishStep } from './vfio-device.js';
import { coreOf } from './core-state.js';
import { migCheckFlags } from './migration-fsm.js';

export { deviceTryGetRegistration, devicePutRegistration } from './registration-count.js';

function registerDev(device: VfioDevice, type: VfioGroupType): void {
  sanitizer.assertLive(device, 'register');
  if (device.ops === null || device.index < 0) throw new VfioError('EINVAL', 'register: device was not allocated with allocDevice/initDevice');
  if (device.regState !== 'unregistered') throw new VfioError('EEXIST', `${deviceLabel(device)} is already registered`);
  checkMigrationOps(device);
  // How far set-up got: the catch unwinds exactly those steps, in reverse.
  let done = 0;
  try {
    // A driver that does not choose a set gets a singleton set just for itself.
    if (device.devSet === null) assignSingletonDeviceSet(device);
    device.name = numberedName('vfio', device.index);
    vfioDeviceSetGroup(device, type);
    done = 1;
    deviceAdd(device);
    done = 2;
    cdevAdd(device);
  } catch (err) {
    if (done >= 2) deviceDel(device);
    if (done >= 1) vfioDeviceRemoveGroup(device);
    throw err;
  }
  // Refcounting can't start until the driver calls register.
  device.registration.set(1);
  device.comp.reinit();
  device.regState = 'registered';
  vfioDeviceGroupRegister(device);
  publishStep('register', device);
}

/**
 * vfio_pci_core_register_device()'s checks, for every driver here: migration ops come as a set of three and need
 * VFIO_MIGRATION_STOP_COPY; the dirty-logging ops come as a set of three. EINVAL otherwise.
 */
function checkMigrationOps(device: VfioDevice): void {
  const ops = opsOf(device);
  // Counted without building arrays: this runs on every register.
  const mig = (ops.migrationSetState ? 1 : 0) + (ops.migrationGetState ? 1 : 0) + (ops.migrationGetDataSize ? 1 : 0);
  if (mig > 0) {
    if (mig < 3) throw new VfioError('EINVAL', `${ops.name}: incomplete migration ops`);
    migCheckFlags(device.migrationFlags);
  }
  const log = (ops.logStart ? 1 : 0) + (ops.logStop ? 1 : 0) + (ops.logReadAndClear ? 1 : 0);
  if (log > 0 && log < 3) throw new VfioError('EINVAL', `${ops.name}: incomplete dirty logging ops`);
}

/** vfio_register_group_dev(): a device behind a real IOMMU group (vfio-pci, platform, ...). */
export function registerGroupDev(device: VfioDevice): void {
  registerDev(device, 'iommu');
}

/** vfio_register_emulated_iommu_dev(): a device whose DMA the core mediates (mdev drivers). */
export function registerEmulatedIommuDev(device: VfioDevice): void {
  registerDev(device, 'emulated-iommu');
}

export interface UnregisterOptions {
  /** Milliseconds between ops.request calls; defaults to the host's setting (10 s, as the kernel). */
  readonly requestIntervalMs?: number;
}

/**
 * vfio_unregister_group_dev(): unreachable first (out of the group, sysfs node and cdev removed), then
 * drops the initial registration reference and waits for every open file to close, calling
 * ops.request(device, 0, 1, 2, ...) once per interval. It never gives up.
 */
export async function unregisterGroupDev(device: VfioDevice, opts: UnregisterOptions = {}): Promise<void> {
  sanitizer.assertLive(device, 'unregisterGroupDev');
  if (device.regState !== 'registered') {
    throw new VfioError('EINVAL', `${deviceLabel(device)} is not registered${device.regState === 'unregistering' ? ' (unregister under way)' : ''}`);
  }
  device.regState = 'unregistering';
  // Prevents new opens through GET_DEVICE_FD on the group path.
  vfioDeviceGroupUnregister(device);
  // Balances cdevAdd and deviceAdd in register; also prevents new opens through the cdev.
  cdevDel(device);
  deviceDel(device);
  devicePutRegistration(device);
  if (!device.comp.tryWait()) {
    const interval = opts.requestIntervalMs ?? coreOf(device).options.requestIntervalMs;
    const ops = opsOf(device);
    for (let i = 0; ; i++) {
      publishStep('request', device, i);
      if (ops.request !== undefined) {
        try {
          ops.request(device, i);
        } catch (err) {
          hostOf(device).logger.warn({ device: deviceLabel(device), err: String(err) }, 'request callback failed');
        }
      }
      if (await device.comp.wait({ timeoutMs: interval })) break;
    }
  }
  // Balances vfioDeviceSetGroup in register.
  vfioDeviceRemoveGroup(device);
  device.regState = 'unregistered';
  publishStep('unregister', device);
}
