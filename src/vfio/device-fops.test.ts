// Device fd dispatch (vfio_device_fops in device-fops.ts, vfio_device_fops_unl_ioctl): ops.ioctl gets every non-core ioctl with the user's buffer,
// EINVAL without it; read/write/mmap through the device file; the cdev path before bind allows only BIND.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  VFIO_DEVICE_ATTACH_IOMMUFD_PT,
  VFIO_DEVICE_BIND_IOMMUFD,
  VFIO_DEVICE_GET_INFO,
  VFIO_DEVICE_GET_REGION_INFO,
  VFIO_DEVICE_RESET,
} from '../uapi/ioctl.js';
import { VfioError } from '../uapi/errno.js';
import { errno, makeKit, openViaGroup, u32s, view } from './uapi.test-kit.js';

test('ops.ioctl sees the command and the user buffer in place; a number arg reaches it as an empty buffer', async () => {
  const seen: string[] = [];
  const k = makeKit({
    ops: {
      ioctl: (_d, cmd, arg) => {
        seen.push(`${cmd.toString(16)}:${arg.byteLength}`);
        if (cmd === VFIO_DEVICE_GET_REGION_INFO) {
          view(arg).setBigUint64(16, 256n, true);
          return 0;
        }
        if (cmd === VFIO_DEVICE_RESET) return 0;
        throw new VfioError('ENOTTY');
      },
      read: (_d, buf, pos) => {
        buf.fill(pos & 0xff);
        return buf.length;
      },
      write: (_d, buf) => buf.length,
    },
  });
  const { device, container, group } = openViaGroup(k.proc, k.dev);
  const info = u32s(32, 0, 7, 0, 0, 0, 0, 0);
  assert.equal(k.proc.ioctl(device, VFIO_DEVICE_GET_REGION_INFO, info), 0);
  assert.equal(view(info).getBigUint64(16, true), 256n);
  assert.equal(k.proc.ioctl(device, VFIO_DEVICE_RESET), 0);
  assert.throws(() => k.proc.ioctl(device, VFIO_DEVICE_ATTACH_IOMMUFD_PT, u32s(12, 0, 1)), errno('ENOTTY'), 'group fds pass ATTACH to the driver');
  assert.throws(() => k.proc.ioctl(device, VFIO_DEVICE_BIND_IOMMUFD, u32s(16, 0, 3, 0)), errno('EINVAL'), 'BIND is for cdev fds');
  assert.deepEqual(seen, [`${VFIO_DEVICE_GET_REGION_INFO.toString(16)}:32`, `${VFIO_DEVICE_RESET.toString(16)}:0`, `${VFIO_DEVICE_ATTACH_IOMMUFD_PT.toString(16)}:12`]);
  const buf = new Uint8Array(4);
  assert.equal(k.proc.pread(device, buf, 0x7000000042), 4);
  assert.equal(buf[0], 0x42);
  assert.equal(k.proc.pwrite(device, buf, 0), 4);
  assert.throws(() => k.proc.pread(device, buf, -1), errno('EINVAL'));
  assert.throws(() => k.proc.mmap(device, 0, 4096, true), errno('EINVAL'), 'no mmap op');
  assert.throws(() => k.proc.mmap(container, 0, 4096, true), errno('ENODEV'));
  assert.throws(() => k.proc.pread(group, buf, 0), errno('EINVAL'));
  assert.equal(k.proc.deviceFile(device).device, k.dev);
  assert.throws(() => k.proc.deviceFile(group), errno('EINVAL'));
  await k.done();
});

test('a device without ops.ioctl answers EINVAL; a cdev fd before BIND answers EINVAL to everything else', async () => {
  const k = makeKit();
  const { device } = openViaGroup(k.proc, k.dev);
  assert.throws(() => k.proc.ioctl(device, VFIO_DEVICE_GET_INFO, new Uint8Array(24)), errno('EINVAL'));
  assert.throws(() => k.proc.pread(device, new Uint8Array(4), 0), errno('EINVAL'));
  k.proc.close(device);
  const cdev = k.proc.open(k.dev.cdevPath ?? '');
  for (const cmd of [VFIO_DEVICE_GET_INFO, VFIO_DEVICE_ATTACH_IOMMUFD_PT, VFIO_DEVICE_RESET]) {
    assert.throws(() => k.proc.ioctl(cdev, cmd, new Uint8Array(64)), errno('EINVAL'));
  }
  assert.throws(() => k.proc.pread(cdev, new Uint8Array(4), 0), errno('EINVAL'));
  assert.throws(() => k.proc.open('/dev/vfio/devices/vfio99'), errno('ENOENT'));
  await k.done();
});
