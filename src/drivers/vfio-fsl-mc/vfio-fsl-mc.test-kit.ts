// Test support for vfio-fsl-mc: the standard DPAA2 machine with the module loaded, dprc.2 handed to vfio-fsl-mc as a
// user does it (driver_override, unbind from fsl_mc_dprc, bind), its group opened once in a VfioProcess, device
// fds by object name, MC commands through a portal region, and a cleanup that checks for leaks.
import { Host } from '../../base/host.js';
import { standardMachine } from '../../hw/fsl-mc/fsl-mc.test-kit.js';
import type { FslMcMachine } from '../../hw/fsl-mc/fsl-mc-machine.js';
import type { FslMcDevice } from '../../hw/fsl-mc/fsl-mc-device.js';
import { MC_CMD_SIZE, mcEncodeCmd, mcParams, mcReadHeader } from '../../hw/fsl-mc/mc-cmd.js';
import { EFD_NONBLOCK, close, eventfd } from '../../native/index.js';
import { sanitizer } from '../../sanitizer/sanitizer.js';
import { VFIO_GROUP_GET_DEVICE_FD, VFIO_GROUP_SET_CONTAINER, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU } from '../../uapi/ioctl.js';
import { VfioProcess } from '../../vfio/vfio-process.js';
import { cstr, groupPath, u32s } from '../../vfio/uapi.test-kit.js';
import type { VfioFslMcDevice } from './vfio-fsl-mc-private.js';
import { vfioFslMcIndexToOffset } from './vfio-fsl-mc-private.js';
import { vfioFslMcDeviceOf, vfioFslMcRegister } from './vfio-fsl-mc.js';
import type { VfioFslMcModule } from './vfio-fsl-mc.js';

export interface FslMcBed {
  readonly host: Host;
  readonly machine: FslMcMachine;
  readonly module: VfioFslMcModule;
  readonly proc: VfioProcess;
  /** The fsl-mc device `name` (dprc.2, dpni.0, ...). */
  mcDev(name: string): FslMcDevice;
  /** The vfio-fsl-mc device bound to `name`. */
  vdev(name: string): VfioFslMcDevice;
  /** A device fd for `name` through dprc.2's group (opened with a type1 container on first use). */
  open(name: string): number;
  /** An eventfd closed with the bed. */
  eventfd(): number;
  done(): Promise<void>;
}

export function fslMcBed(): FslMcBed {
  const mark = sanitizer.mark();
  const host = new Host();
  const machine = standardMachine(host);
  const module = vfioFslMcRegister(host, { requestIntervalMs: 5 });
  const proc = new VfioProcess(host);
  const fds: number[] = [];
  let group = -1;
  // As a user does: the DPRC's override, out of the fsl-mc DPRC driver (its objects leave), into vfio-fsl-mc.
  host.sysfs.write('/sys/bus/fsl-mc/devices/dprc.2/driver_override', 'vfio-fsl-mc');
  host.sysfs.write('/sys/bus/fsl-mc/drivers/fsl_mc_dprc/unbind', 'dprc.2');
  host.sysfs.write('/sys/bus/fsl-mc/drivers/vfio-fsl-mc/bind', 'dprc.2');
  const mcDev = (name: string): FslMcDevice => {
    const d = machine.device(name);
    if (d === undefined) throw new Error(`no fsl-mc device ${name}`);
    return d;
  };
  const vdev = (name: string): VfioFslMcDevice => {
    const v = vfioFslMcDeviceOf(mcDev(name));
    if (v === null) throw new Error(`${name} is not bound to vfio-fsl-mc`);
    return v;
  };
  return {
    host,
    machine,
    module,
    proc,
    mcDev,
    vdev,
    open(name) {
      if (group < 0) {
        group = proc.open(groupPath(vdev('dprc.2')));
        const container = proc.open('/dev/vfio/vfio');
        proc.ioctl(group, VFIO_GROUP_SET_CONTAINER, u32s(container));
        proc.ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU);
      }
      return proc.ioctl(group, VFIO_GROUP_GET_DEVICE_FD, cstr(name));
    },
    eventfd() {
      const fd = eventfd(0, EFD_NONBLOCK);
      fds.push(fd);
      return fd;
    },
    async done() {
      proc.closeAll();
      await module.unregister();
      await machine.destroy();
      for (const fd of fds) close(fd);
      sanitizer.assertNoLeaks(mark);
    },
  };
}

/**
 * Sends one MC command through region `index` of device fd `fd` as DPDK does (a 64-byte pwrite at offset 0, then a
 * 64-byte pread of the answer); returns the answer's status, token and params.
 */
export function mcCommandViaFd(proc: VfioProcess, fd: number, cmdId: number, token: number, fill?: (p: DataView) => void, index = 0): { status: number; token: number; p: DataView } {
  const cmd = mcEncodeCmd(cmdId, token);
  fill?.(mcParams(cmd));
  const pos = Number(vfioFslMcIndexToOffset(index));
  proc.pwrite(fd, cmd, pos);
  const back = new Uint8Array(MC_CMD_SIZE);
  proc.pread(fd, back, pos);
  const h = mcReadHeader(back);
  return { status: h.status, token: h.token, p: mcParams(back) };
}
