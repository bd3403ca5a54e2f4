// hisi_acc_vfio_pci_probe's two ops tables (migration only for a VF whose PF driver holds a QM of version 3 or
// later) seen through the uAPI, and the BAR2 split: GET_REGION_INFO, pread/pwrite and mmap of the migration area.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QM_EQC_DW0, QM_HW_V2, QM_PAGE_SIZE } from '../../hw/hisi-qm/qm-regs.js';
import { VFIO_DEVICE_FEATURE_GET, VFIO_DEVICE_FEATURE_MIGRATION } from '../../uapi/feature.js';
import { VFIO_DEVICE_FEATURE, VFIO_DEVICE_GET_REGION_INFO } from '../../uapi/ioctl.js';
import { VFIO_MIGRATION_PRE_COPY, VFIO_MIGRATION_STOP_COPY } from '../../uapi/migration.js';
import { VFIO_REGION_INFO_FLAG_MMAP, decodeVfioRegionInfo, vfioPciIndexToOffset } from '../../uapi/region-info.js';
import { errno, u32s, view } from '../../vfio/uapi.test-kit.js';
import { opsOf } from '../../vfio/vfio-device.js';
import type { VfioProcess } from '../../vfio/vfio-process.js';
import { hisiBed } from './hisi-acc.test-kit.js';

function migrationFlags(proc: VfioProcess, device: number): number {
  const b = new Uint8Array(16);
  view(b).setUint32(0, 16, true);
  view(b).setUint32(4, (VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIGRATION) >>> 0, true);
  proc.ioctl(device, VFIO_DEVICE_FEATURE, b);
  return Number(view(b).getBigUint64(8, true));
}

function bar2Info(proc: VfioProcess, device: number) {
  const b = u32s(32, 0, 2, 0, 0, 0, 0, 0);
  proc.ioctl(device, VFIO_DEVICE_GET_REGION_INFO, b);
  return decodeVfioRegionInfo(b);
}

const BAR2 = Number(vfioPciIndexToOffset(2));

test('probe: the migration ops for a VF of a V3 PF with its PF driver; plain ops for a V2 PF or a PF on pci-pf-stub', async (t) => {
  const bed = await hisiBed([
    { kind: 'zip', numVfs: 1 },
    { kind: 'sec', numVfs: 1, revision: QM_HW_V2 },
    { kind: 'hpre', numVfs: 1, stub: true },
  ]);
  t.after(() => bed.done());
  const mig = bed.bind(0, 0);
  const v2 = bed.bind(1, 0);
  const stubbed = bed.bind(2, 0);
  assert.equal(opsOf(mig).name, 'hisi-acc-vfio-pci-migration');
  assert.equal(opsOf(v2).name, 'hisi-acc-vfio-pci');
  assert.equal(opsOf(stubbed).name, 'hisi-acc-vfio-pci');
  assert.equal(mig.pfQm?.pdev, bed.pf(0), 'pf_qm is the PF driver\'s QM');
  assert.equal(mig.vfId, 1);
  assert.equal(bed.host.sysfs.read(`/sys/bus/pci/devices/${bed.pf(2).bdf}/driver_override`), 'pci-pf-stub\n');

  const a = bed.open(mig);
  assert.equal(migrationFlags(bed.proc, a.device), VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_PRE_COPY);
  for (const plain of [v2, stubbed]) {
    const p = bed.open(plain);
    assert.throws(() => migrationFlags(bed.proc, p.device), errno('ENOTTY'), 'no migration without a PF QM of V3');
    // Without migration the whole BAR2 is the user's, migration area included.
    assert.equal(bar2Info(bed.proc, p.device).size, 0x10000n);
    const word = new Uint8Array(4);
    assert.equal(bed.proc.pread(p.device, word, BAR2 + QM_EQC_DW0), 4);
  }
});

test('the BAR2 split: region info shows the first half; the migration area refuses pread, pwrite and mmap (EINVAL)', async (t) => {
  const bed = await hisiBed([{ kind: 'zip', numVfs: 1 }]);
  t.after(() => bed.done());
  const { device } = bed.open(bed.bind(0, 0));
  const info = bar2Info(bed.proc, device);
  assert.equal(info.size, 0x8000n, 'half of the 64 KiB BAR');
  assert.equal(info.offset, vfioPciIndexToOffset(2));
  assert.equal(info.flags & VFIO_REGION_INFO_FLAG_MMAP, 0, 'no simulated BAR is mappable');
  const word = new Uint8Array(4);
  assert.throws(() => bed.proc.pread(device, word, BAR2 + QM_EQC_DW0), errno('EINVAL'));
  assert.throws(() => bed.proc.pwrite(device, word, BAR2 + 0xfffc), errno('EINVAL'));
  // An access running into the migration area stops at its start.
  assert.equal(bed.proc.pread(device, new Uint8Array(8), BAR2 + 0x7ffc), 4);
  assert.throws(() => bed.proc.mmap(device, BAR2 + 0x7000, 0x2000, true), errno('EINVAL'));
  // The user's half works: a QM register written and read back.
  view(word).setUint32(0, 0x1000, true);
  bed.proc.pwrite(device, word, BAR2 + QM_PAGE_SIZE);
  word.fill(0);
  bed.proc.pread(device, word, BAR2 + QM_PAGE_SIZE);
  assert.equal(view(word).getUint32(0, true), 0x1000);
});
