// VfioProcess's region-addressed access (regionRead/regionWrite): a driver's ops.regionRw gets the region and the
// offset as given; a driver without it is read and written at the offset its GET_REGION_INFO reports; the fd
// must be a bound device fd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VfioError } from '../uapi/errno.js';
import { VFIO_DEVICE_GET_REGION_INFO } from '../uapi/ioctl.js';
import { decodeVfioRegionInfo, encodeVfioRegionInfo } from '../uapi/region-info.js';
import { errno, makeKit, openViaGroup } from './uapi.test-kit.js';

test('regionRead/regionWrite call ops.regionRw with the region and offset, and not read/write', async () => {
  const seen: string[] = [];
  const k = makeKit({
    ops: {
      regionRw: (_d, index, offset, buf, write) => {
        seen.push(`${write ? 'w' : 'r'} ${index} ${offset} ${buf.length}`);
        if (!write) buf.fill(index);
        return buf.length;
      },
      read: () => assert.fail('read is the pread path'),
      write: () => assert.fail('write is the pwrite path'),
    },
  });
  const { device, group } = openViaGroup(k.proc, k.dev);
  const buf = new Uint8Array(4);
  assert.equal(k.proc.regionRead(device, 7, 0x40, buf), 4);
  assert.deepEqual([...buf], [7, 7, 7, 7]);
  assert.equal(k.proc.regionWrite(device, 0, 0x1000, Uint8Array.of(1, 2)), 2);
  assert.deepEqual(seen, ['r 7 64 4', 'w 0 4096 2']);
  assert.throws(() => k.proc.regionRead(group, 0, 0, buf), errno('EINVAL'), 'not a device fd');
  assert.throws(() => k.proc.regionRead(99, 0, 0, buf), errno('EBADF'));
  await k.done();
});

test('without ops.regionRw the core reads and writes at the offset GET_REGION_INFO reports', async () => {
  const seen: string[] = [];
  const k = makeKit({
    ops: {
      ioctl: (_d, cmd, arg) => {
        if (cmd !== VFIO_DEVICE_GET_REGION_INFO) throw new VfioError('ENOTTY');
        const req = decodeVfioRegionInfo(arg);
        if (req.index > 8) throw new VfioError('EINVAL', 'no such region');
        // A layout of its own, not vfio-pci's index << 40: region i at 0x10000 * (i + 1).
        encodeVfioRegionInfo({ ...req, flags: 3, size: 0x100n, offset: BigInt(0x10000 * (req.index + 1)) }, arg);
        return 0;
      },
      read: (_d, buf, pos) => {
        seen.push(`read 0x${pos.toString(16)}`);
        buf.fill(pos & 0xff);
        return buf.length;
      },
      write: (_d, buf, pos) => {
        seen.push(`write 0x${pos.toString(16)}`);
        return buf.length;
      },
    },
  });
  const { device } = openViaGroup(k.proc, k.dev);
  const buf = new Uint8Array(2);
  assert.equal(k.proc.regionRead(device, 2, 0x21, buf), 2);
  assert.deepEqual([...buf], [0x21, 0x21]);
  k.proc.regionWrite(device, 0, 4, buf);
  assert.deepEqual(seen, ['read 0x30021', 'write 0x10004']);
  assert.throws(() => k.proc.regionRead(device, 9, 0, buf), errno('EINVAL'), "the driver's GET_REGION_INFO error");
  await k.done();
});

test('without ops.regionRw or ioctl a region access is EINVAL; a cdev fd before BIND is EINVAL', async () => {
  const k = makeKit({ ops: { read: (_d, buf) => buf.length } });
  const { device } = openViaGroup(k.proc, k.dev);
  assert.throws(() => k.proc.regionRead(device, 0, 0, new Uint8Array(1)), errno('EINVAL'), 'no GET_REGION_INFO to place the region');
  assert.throws(() => k.proc.regionWrite(device, 0, 0, new Uint8Array(1)), errno('EINVAL'), 'no write op');
  k.proc.close(device);
  const cdev = k.proc.open(k.dev.cdevPath ?? '');
  assert.throws(() => k.proc.regionRead(cdev, 0, 0, new Uint8Array(1)), errno('EINVAL'));
  await k.done();
});
