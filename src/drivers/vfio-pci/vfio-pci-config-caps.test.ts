// vfio-pci's capability chains and the MSI capability as the user sees them (drivers/vfio/pci/vfio_pci_config.c
// vfio_cap_init, vfio_ecap_init, vfio_msi_config_read/write; vfio_pci_intrs.c vfio_msi_enable): capabilities of
// length 0 are unlinked from the standard chain, hidden extended ones are skipped (the first one stays as an
// anchor with id and version zeroed), and MSI is enabled by SET_IRQS only, each vector firing its eventfd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fired } from '../../emu/irq.test-kit.js';
import { VFIO_DEVICE_GET_IRQ_INFO, VFIO_DEVICE_SET_IRQS } from '../../uapi/ioctl.js';
import { VFIO_PCI_MSIX_IRQ_INDEX, VFIO_PCI_MSI_IRQ_INDEX, decodeVfioIrqInfo } from '../../uapi/irq-info.js';
import { VFIO_IRQ_SET_ACTION_TRIGGER, encodeVfioIrqSet, vfioIrqSetOfEventfds, vfioIrqSetOfNone } from '../../uapi/irq-set.js';
import {
  PCI_CAPABILITY_LIST,
  PCI_CAP_ID_AF,
  PCI_CAP_ID_EXP,
  PCI_CAP_ID_MSI,
  PCI_CAP_ID_PM,
  PCI_CAP_LIST_NEXT,
  PCI_COMMAND,
  PCI_COMMAND_MEMORY,
  PCI_MSI_FLAGS,
  PCI_MSI_FLAGS_ENABLE,
  PCI_MSI_FLAGS_QMASK,
  PCI_MSI_FLAGS_QSIZE,
  PCI_MSI_MASK_64,
  PCI_STATUS,
  PCI_STATUS_CAP_LIST,
} from '../../uapi/pci-regs.js';
import { PCI_EXT_CAP_ID_ERR } from '../../uapi/pci-regs-ext.js';
import { PCI_EXT_CAP_ID_DSN, PCI_EXT_CAP_ID_MRIOV, PCI_EXT_CAP_ID_PASID } from '../../uapi/pci-regs-vfio.js';
import { VFIO_PCI_CONFIG_REGION_INDEX } from '../../uapi/region-info.js';
import { errno, u32s } from '../../vfio/uapi.test-kit.js';
import { CAPFN_REG_RAISE, CapFunction } from './cap-function.test-kit.js';
import { openGroupPath, pciBed, regRead, regWrite } from './vfio-pci.test-kit.js';
import type { PciBed } from './vfio-pci.test-kit.js';

const CFG = VFIO_PCI_CONFIG_REGION_INDEX;

/** The user's standard capability chain: [id, offset] pairs from PCI_CAPABILITY_LIST. */
function userChain(bed: PciBed, fd: number): [number, number][] {
  const out: [number, number][] = [];
  if ((regRead(bed, fd, CFG, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST) === 0) return out;
  for (let pos = regRead(bed, fd, CFG, PCI_CAPABILITY_LIST, 1); pos !== 0 && out.length < 48; pos = regRead(bed, fd, CFG, pos + PCI_CAP_LIST_NEXT, 1)) {
    out.push([regRead(bed, fd, CFG, pos, 1), pos]);
  }
  return out;
}

/** The user's extended chain from 0x100: [header id, version, offset]. */
function userEcapChain(bed: PciBed, fd: number): [number, number, number][] {
  const out: [number, number, number][] = [];
  for (let pos = 0x100; pos !== 0 && out.length < 64; ) {
    const h = regRead(bed, fd, CFG, pos, 4);
    if (h === 0) break;
    out.push([h & 0xffff, (h >>> 16) & 0xf, pos]);
    pos = h >>> 20;
  }
  return out;
}

test('hidden standard capabilities are unlinked: the chain skips Slot ID and Debug port, the rest read through', async (t) => {
  const hw = new CapFunction({ msiVectors: 4, afFlr: true, hiddenCaps: true });
  const bed = pciBed({ devices: [{ device: 1, hw }] });
  t.after(() => bed.done());
  const { device } = openGroupPath(bed, bed.bind('0000:00:01.0'));
  const { pm, msi, af } = hw.layout;
  assert.deepEqual(userChain(bed, device), [[PCI_CAP_ID_PM, pm], [PCI_CAP_ID_MSI, msi], [PCI_CAP_ID_AF, af]]);
  // The hardware still links them: only the user's view (the next pointers in vconfig) changed.
  assert.equal(hw.config.getByte(pm + PCI_CAP_LIST_NEXT), hw.layout.slotId);
  // A hidden capability's bytes belong to no capability: raw access, as the kernel's unassigned_perms.
  assert.equal(regRead(bed, device, CFG, hw.layout.slotId, 1), 0x04);
});

test('a function whose every capability is hidden shows no capability list', async (t) => {
  const hw = new CapFunction({ onlyHiddenCaps: true });
  const bed = pciBed({ devices: [{ device: 1, hw }] });
  t.after(() => bed.done());
  const { device } = openGroupPath(bed, bed.bind('0000:00:01.0'));
  assert.equal(hw.config.getWord(PCI_STATUS) & PCI_STATUS_CAP_LIST, PCI_STATUS_CAP_LIST, 'the hardware has a list');
  assert.equal(regRead(bed, device, CFG, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, 0, 'the user sees none');
  assert.deepEqual(userChain(bed, device), []);
});

test('hidden extended capabilities: skipped in the chain, the first one kept as an anchor with id and version 0', async (t) => {
  const hw = new CapFunction({
    ecaps: [
      [PCI_EXT_CAP_ID_PASID, 1],
      [PCI_EXT_CAP_ID_DSN, 1],
      [PCI_EXT_CAP_ID_MRIOV, 1],
      [PCI_EXT_CAP_ID_ERR, 2],
      [0x40, 1], // past PCI_EXT_CAP_ID_MAX: unknown, hidden
    ],
  });
  const bed = pciBed({ devices: [{ device: 1, hw }] });
  t.after(() => bed.done());
  const { device } = openGroupPath(bed, bed.bind('0000:00:01.0'));
  const [pasid, dsn, , aer] = hw.layout.ecaps;
  assert.deepEqual(userChain(bed, device).map(([id]) => id), [PCI_CAP_ID_PM, PCI_CAP_ID_EXP]);
  assert.deepEqual(userEcapChain(bed, device), [
    [0, 0, pasid],
    [PCI_EXT_CAP_ID_DSN, 1, dsn],
    [PCI_EXT_CAP_ID_ERR, 2, aer],
  ]);
  assert.equal(regRead(bed, device, CFG, (aer ?? 0) + 2, 2) >>> 4, 0, 'the last visible one ends the chain (the unknown one after it is cut)');
  assert.equal(regRead(bed, device, CFG, (dsn ?? 0) + 4, 4), dsn, 'a visible capability reads through to the hardware');
});

test('nothing but hidden extended capabilities: the header at 0x100 reads 0 (no list)', async (t) => {
  const only = new CapFunction({ ecaps: [[PCI_EXT_CAP_ID_PASID, 1], [PCI_EXT_CAP_ID_MRIOV, 1]] });
  const bed2 = pciBed({ devices: [{ device: 1, hw: only }] });
  t.after(() => bed2.done());
  assert.notEqual(only.config.getDword(0x100), 0, 'the hardware has a list');
  const { device: d2 } = openGroupPath(bed2, bed2.bind('0000:00:01.0'));
  assert.equal(regRead(bed2, d2, CFG, 0x100, 4), 0);
});

test('MSI: enabled by SET_IRQS only, Multiple Message Enable clamped to what was allocated, vectors fire eventfds', async (t) => {
  const hw = new CapFunction({ msiVectors: 4 });
  const bed = pciBed({ devices: [{ device: 1, hw }] });
  t.after(() => bed.done());
  const { device } = openGroupPath(bed, bed.bind('0000:00:01.0'));
  const msi = hw.layout.msi;
  const info = u32s(16, 0, VFIO_PCI_MSI_IRQ_INDEX, 0);
  bed.proc.ioctl(device, VFIO_DEVICE_GET_IRQ_INFO, info);
  assert.equal(decodeVfioIrqInfo(info).count, 4, 'MSI count is the hardware Multiple Message Capable');
  const msixInfo = u32s(16, 0, VFIO_PCI_MSIX_IRQ_INDEX, 0);
  bed.proc.ioctl(device, VFIO_DEVICE_GET_IRQ_INFO, msixInfo);
  assert.equal(decodeVfioIrqInfo(msixInfo).count, 0, 'no MSI-X capability');

  // The virtual FLAGS: the hardware's Multiple Message Capable (the kernel's msi_qmax update lands on the
  // capability's first word, whose id byte is read from the hardware), MSI off.
  const flags0 = regRead(bed, device, CFG, msi + PCI_MSI_FLAGS, 2);
  assert.equal((flags0 & PCI_MSI_FLAGS_QMASK) >> 1, 2);
  assert.equal(flags0 & PCI_MSI_FLAGS_ENABLE, 0);
  // The user's enable bit does not reach the hardware while MSI is not enabled through SET_IRQS.
  regWrite(bed, device, CFG, msi + PCI_MSI_FLAGS, 2, flags0 | PCI_MSI_FLAGS_ENABLE | (2 << 4));
  assert.equal(hw.irq.msi.msiEnabled(), false);
  assert.equal(regRead(bed, device, CFG, msi + PCI_MSI_FLAGS, 2) & (PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE), 0, 'enable dropped, MME clamped to 0');

  const ev = [bed.eventfd(), bed.eventfd()];
  bed.proc.ioctl(device, VFIO_DEVICE_SET_IRQS, encodeVfioIrqSet(vfioIrqSetOfEventfds(VFIO_PCI_MSI_IRQ_INDEX, 0, ev)));
  assert.equal(hw.irq.msi.msiEnabled(), true, 'the host enabled MSI on the function');
  assert.equal(hw.irq.msi.msiVectorCount(), 2);
  assert.throws(
    () => bed.proc.ioctl(device, VFIO_DEVICE_SET_IRQS, encodeVfioIrqSet(vfioIrqSetOfEventfds(VFIO_PCI_MSIX_IRQ_INDEX, 0, [ev[0] ?? -1]))),
    errno('EINVAL'),
    'MSI-X index has no vectors',
  );

  // The guest's own MSI programming is virtual: its address never reaches the function.
  regWrite(bed, device, CFG, msi + 4, 4, 0xdead0000);
  assert.equal(regRead(bed, device, CFG, msi + 4, 4), 0xdead0000);
  assert.equal(hw.config.getDword(msi + 4), 0xfee00000, 'the host address stays in the hardware');
  // Enable with MME 2 (4 vectors): clamped to the 2 allocated (MME 1), enable kept now that MSI is on.
  regWrite(bed, device, CFG, msi + PCI_MSI_FLAGS, 2, (regRead(bed, device, CFG, msi + PCI_MSI_FLAGS, 2) & ~PCI_MSI_FLAGS_QSIZE) | PCI_MSI_FLAGS_ENABLE | (2 << 4));
  assert.equal((regRead(bed, device, CFG, msi + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_QSIZE) >> 4, 1);
  assert.equal(regRead(bed, device, CFG, msi + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_ENABLE, PCI_MSI_FLAGS_ENABLE);

  regWrite(bed, device, CFG, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
  regWrite(bed, device, 0, CAPFN_REG_RAISE, 4, 1);
  assert.deepEqual(ev.map(fired), [0, 1], 'vector 1 fired its eventfd');
  regWrite(bed, device, 0, CAPFN_REG_RAISE, 4, 0);
  assert.deepEqual(ev.map(fired), [1, 0]);
  // Per-vector mask bits go through to the hardware: a masked vector is held pending.
  regWrite(bed, device, CFG, msi + PCI_MSI_MASK_64, 4, 1);
  assert.equal(hw.config.getDword(msi + PCI_MSI_MASK_64), 1);
  regWrite(bed, device, 0, CAPFN_REG_RAISE, 4, 0);
  assert.deepEqual(ev.map(fired), [0, 0], 'masked');
  regWrite(bed, device, CFG, msi + PCI_MSI_MASK_64, 4, 0);
  assert.deepEqual(ev.map(fired), [1, 0], 'the pending message went out on unmask');

  // Disable: count 0, DATA_NONE.
  bed.proc.ioctl(device, VFIO_DEVICE_SET_IRQS, encodeVfioIrqSet(vfioIrqSetOfNone(VFIO_PCI_MSI_IRQ_INDEX, 0, 0, VFIO_IRQ_SET_ACTION_TRIGGER)));
  assert.equal(hw.irq.msi.msiEnabled(), false);
  regWrite(bed, device, 0, CAPFN_REG_RAISE, 4, 0);
  assert.deepEqual(ev.map(fired), [0, 0]);
});
