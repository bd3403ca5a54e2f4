// Reset methods as pci_reset_fn_methods probes them, resets that really reset the model (registers,
// MSI-X table, interrupts) while the kernel's save/restore keeps config space, slot and bus resets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Host } from '../../base/host.js';
import { VfioError } from '../../uapi/errno.js';
import { PCI_BASE_ADDRESS_0, PCI_COMMAND, PCI_COMMAND_MASTER, PCI_COMMAND_MEMORY } from '../../uapi/pci-regs.js';
import { PCI_SECONDARY_BUS } from '../../uapi/pci-regs-ext.js';
import { PciSerialCard } from './serial-card.js';
import { DMA_REG_INTR_MASK, DMA_REG_SRC_LO, DMA_STATUS_DONE, PcieDmaEngine } from './dma-engine.js';
import { pciGetDevice, pciRemoveRootBus, pciScanRootBus } from './scan.js';
import { pciBarRead, pciBarWrite, pciReadConfig, pciWriteConfig } from './pci-dev.js';
import type { PciDev } from './pci-dev.js';
import { pciProbeResetBus, pciProbeResetSlot, pciResetBus, pciResetFunction } from './reset.js';
import { le32, readLe32 } from './pci.test-kit.js';

const isErr = (code: Parameters<typeof VfioError.is>[1]) => (e: unknown) => VfioError.is(e, code);

function get(host: Host, bdf: string): PciDev {
  const d = pciGetDevice(host, bdf);
  assert.ok(d, bdf);
  return d;
}

function setup() {
  const host = new Host();
  const hw = {
    flr: new PcieDmaEngine(),
    pm: new PcieDmaEngine({ flr: false, pmNoSoftReset: false }),
    af: new PcieDmaEngine({ flr: false, afFlr: true }),
    serial: new PciSerialCard(),
    slotted: new PcieDmaEngine(),
    behindPort: new PciSerialCard(),
    deep: new PcieDmaEngine(),
  };
  const root = pciScanRootBus(host, {
    devices: [
      { device: 1, hw: hw.flr },
      { device: 2, hw: hw.pm },
      { device: 3, hw: hw.af },
      { device: 4, hw: hw.serial },
      { device: 5, bridge: 'root-port', acs: true, slot: { number: 5, hotplug: true }, below: [{ device: 0, hw: hw.slotted }] },
      { device: 6, bridge: 'root-port', below: [{ device: 0, hw: hw.behindPort }] },
      { device: 7, bridge: 'root-port', below: [{ device: 0, bridge: 'upstream', below: [{ device: 0, bridge: 'downstream', below: [{ device: 0, hw: hw.deep }] }] }] },
    ],
  });
  return { host, hw, root };
}

test('reset_method lists what each function supports, in the kernel\'s order', async (t) => {
  const { host, root } = setup();
  t.after(() => pciRemoveRootBus(root));
  const rm = (bdf: string): string => host.sysfs.read(`/sys/bus/pci/devices/${bdf}/reset_method`);
  assert.equal(rm('0000:00:01.0'), 'flr\n');
  assert.equal(rm('0000:00:02.0'), 'pm\n');
  assert.equal(rm('0000:00:03.0'), 'af_flr\n');
  assert.equal(rm('0000:01:00.0'), 'flr bus\n', 'behind a hot-plug slot');
  assert.equal(rm('0000:02:00.0'), 'bus\n', 'alone behind a port: secondary bus reset');
  assert.equal(host.sysfs.exists('/sys/bus/pci/devices/0000:00:04.0/reset'), false, 'no method: no reset file');
  assert.throws(() => pciResetFunction(get(host, '0000:00:04.0')), isErr('ENOTTY'));
});

test('FLR, PM and AF resets clear the model\'s registers; the saved config (BARs, COMMAND) comes back', async (t) => {
  const { host, hw, root } = setup();
  t.after(() => pciRemoveRootBus(root));
  for (const [bdf, f, kind] of [['0000:00:01.0', hw.flr, 'flr'], ['0000:00:02.0', hw.pm, 'pm'], ['0000:00:03.0', hw.af, 'af-flr']] as const) {
    const pdev = get(host, bdf);
    pciWriteConfig(pdev, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    const bar0 = pciReadConfig(pdev, PCI_BASE_ADDRESS_0, 4);
    pciBarWrite(pdev, 0, DMA_REG_INTR_MASK, le32(DMA_STATUS_DONE));
    pciBarWrite(pdev, 0, DMA_REG_SRC_LO, le32(0x1000));
    host.sysfs.write(`/sys/bus/pci/devices/${bdf}/reset`, '1');
    assert.deepEqual(f.resets, [kind]);
    assert.equal(readLe32((b) => pciBarRead(pdev, 0, DMA_REG_SRC_LO, b)), 0, `${kind} cleared the register`);
    assert.equal(readLe32((b) => pciBarRead(pdev, 0, DMA_REG_INTR_MASK, b)), 0);
    assert.equal(pciReadConfig(pdev, PCI_BASE_ADDRESS_0, 4), bar0, 'BAR restored');
    assert.equal(pciReadConfig(pdev, PCI_COMMAND, 2) & PCI_COMMAND_MEMORY, PCI_COMMAND_MEMORY, 'COMMAND restored');
  }
  assert.throws(() => host.sysfs.write('/sys/bus/pci/devices/0000:00:01.0/reset', '2'), isErr('EINVAL'));
});

test('reset_method selects, refuses unknown or unsupported names (EINVAL), "" disables, "default" re-probes', async (t) => {
  const { host, root } = setup();
  t.after(() => pciRemoveRootBus(root));
  const f = '/sys/bus/pci/devices/0000:01:00.0/reset_method';
  host.sysfs.write(f, 'bus\n');
  assert.equal(host.sysfs.read(f), 'bus\n');
  assert.throws(() => host.sysfs.write(f, 'pm'), isErr('EINVAL'));
  assert.throws(() => host.sysfs.write(f, 'bogus'), isErr('EINVAL'));
  host.sysfs.write(f, '\n');
  assert.equal(host.sysfs.read(f), '\n');
  assert.throws(() => host.sysfs.write('/sys/bus/pci/devices/0000:01:00.0/reset', '1'), isErr('ENOTTY'));
  host.sysfs.write(f, 'default');
  assert.equal(host.sysfs.read(f), 'flr bus\n');
});

test('slot and bus resets: probes answer ENOTTY where the kernel does; a bus reset resets bridges below and restores them first', async (t) => {
  const { host, hw, root } = setup();
  t.after(() => pciRemoveRootBus(root));
  const slotted = get(host, '0000:01:00.0');
  pciProbeResetSlot(slotted.slot);
  assert.throws(() => pciProbeResetSlot(get(host, '0000:00:01.0').slot), isErr('ENOTTY'));
  assert.throws(() => pciProbeResetBus(get(host, '0000:00:01.0').pciBus), isErr('ENOTTY'), 'the root bus has no bridge');
  pciProbeResetBus(slotted.pciBus);
  hw.behindPort.uart.write(7, 0x5a);
  pciResetFunction(get(host, '0000:02:00.0'));
  assert.deepEqual(hw.behindPort.resets, ['bus']);
  assert.equal(hw.behindPort.uart.read(7), 0, 'the secondary bus reset cleared the UART');
  pciResetBus(slotted);
  assert.deepEqual(hw.slotted.resets, ['bus'], 'slot reset through the hot-plug controller');
  const deep = get(host, '0000:05:00.0');
  const bar0 = pciReadConfig(deep, PCI_BASE_ADDRESS_0, 4);
  pciResetBus(get(host, '0000:03:00.0'));
  assert.deepEqual(hw.deep.resets, ['bus']);
  assert.equal(pciReadConfig(get(host, '0000:03:00.0'), PCI_SECONDARY_BUS, 1), 4, 'bridge bus numbers restored');
  assert.equal(pciReadConfig(deep, PCI_BASE_ADDRESS_0, 4), bar0, 'the endpoint below is reachable and restored');
});
