// uAPI dispatch cost: VFIO_DEVICE_GET_REGION_INFO through VfioProcess.ioctl, and a 4-byte config-space pread
// through a device fd, on a small fake device (group path: container + type1 + GET_DEVICE_FD).
import { Host } from '../dist-test/base/host.js';
import { Device, deviceRegister } from '../dist-test/base/device.js';
import { VfioDevice, allocDevice, putVfioDevice } from '../dist-test/vfio/vfio-device.js';
import { registerEmulatedIommuDev, unregisterGroupDev } from '../dist-test/vfio/registration.js';
import { VfioProcess } from '../dist-test/vfio/vfio-process.js';
import {
  VFIO_DEVICE_GET_REGION_INFO, VFIO_GROUP_GET_DEVICE_FD, VFIO_GROUP_SET_CONTAINER, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU,
} from '../dist-test/uapi/ioctl.js';
import { VFIO_PCI_CONFIG_REGION_INDEX, VFIO_REGION_INFO_FLAG_READ, VFIO_REGION_INFO_FLAG_WRITE } from '../dist-test/uapi/region-info.js';
import { measure } from './measure.mjs';

const host = new Host();
const parent = new Device();
parent.name = 'bench0';
parent.release = () => {};
deviceRegister(parent, host);
const config = new Uint8Array(256);
new DataView(config.buffer).setUint32(0, 0x32534348, true);
const SHIFT = 40;
const ops = Object.freeze({
  name: 'bench',
  ioctl(_d, cmd, arg) {
    if (cmd !== VFIO_DEVICE_GET_REGION_INFO) throw new Error('unexpected ioctl');
    const dv = new DataView(arg.buffer, arg.byteOffset, arg.byteLength);
    const index = dv.getUint32(8, true);
    dv.setUint32(4, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE, true);
    dv.setBigUint64(16, index === VFIO_PCI_CONFIG_REGION_INDEX ? 256n : 0n, true);
    dv.setBigUint64(24, BigInt(index) << BigInt(SHIFT), true);
    return 0;
  },
  read(_d, buf, pos) {
    const off = pos % 2 ** SHIFT;
    buf.set(config.subarray(off, off + buf.length));
    return buf.length;
  },
});
const dev = allocDevice(VfioDevice, parent, ops);
registerEmulatedIommuDev(dev);
const proc = new VfioProcess(host);
const group = proc.open(dev.group.devPath);
const container = proc.open('/dev/vfio/vfio');
const fdBuf = new Uint8Array(4);
new DataView(fdBuf.buffer).setInt32(0, container, true);
proc.ioctl(group, VFIO_GROUP_SET_CONTAINER, fdBuf);
proc.ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU);
const device = proc.ioctl(group, VFIO_GROUP_GET_DEVICE_FD, new TextEncoder().encode('bench0\0'));


const info = new Uint8Array(32);
const iv = new DataView(info.buffer);
measure('ioctl.get_region_info', 'ops/s', () => {
  iv.setUint32(0, 32, true);
  iv.setUint32(8, VFIO_PCI_CONFIG_REGION_INDEX, true);
  proc.ioctl(device, VFIO_DEVICE_GET_REGION_INFO, info);
});
const four = new Uint8Array(4);
const cfg = VFIO_PCI_CONFIG_REGION_INDEX * 2 ** SHIFT;
measure('ioctl.config_pread_4', 'ops/s', (i) => {
  proc.pread(device, four, cfg + ((i * 4) & 0xff));
});
proc.closeAll();
await unregisterGroupDev(dev);
putVfioDevice(dev);
