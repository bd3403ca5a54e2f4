// Enumeration of a described topology: BDFs, depth-first bus numbers, sysfs paths and files, IOMMU groups
// as pci_device_group computes them, and removal leaving nothing behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Host } from '../../base/host.js';
import { sanitizer } from '../../sanitizer/sanitizer.js';
import { VfioError } from '../../uapi/errno.js';
import { PCI_SECONDARY_BUS, PCI_SUBORDINATE_BUS } from '../../uapi/pci-regs-ext.js';
import { PciSerialCard } from './serial-card.js';
import { PcieDmaEngine } from './dma-engine.js';
import { pciBuildHardware } from './topology.js';
import type { PciRootSpec } from './topology.js';
import { pciDevices, pciGetDevice, pciRemoveRootBus, pciScanRootBus } from './scan.js';
import { pciReadConfig } from './pci-dev.js';
import type { PciDev } from './pci-dev.js';
import { pciConfigBytes } from './pci-sysfs.js';

/** A machine with every kind of bridge, ACS and not. */
export function sampleTopology(): PciRootSpec {
  return {
    devices: [
      { device: 1, hw: new PciSerialCard() },
      { device: 2, bridge: 'root-port', acs: true, slot: { number: 1, hotplug: true }, below: [{ device: 0, hw: new PcieDmaEngine() }] },
      {
        device: 3,
        bridge: 'root-port',
        acs: true,
        below: [
          {
            device: 0,
            bridge: 'upstream',
            below: [
              { device: 0, bridge: 'downstream', acs: true, below: [{ device: 0, hw: new PcieDmaEngine() }] },
              { device: 1, bridge: 'downstream', below: [{ device: 0, hw: new PcieDmaEngine() }] },
            ],
          },
        ],
      },
      { device: 4, bridge: 'pcie-to-pci', below: [{ device: 1, hw: new PciSerialCard() }, { device: 2, hw: new PciSerialCard() }] },
      { device: 5, function: 0, hw: new PciSerialCard() },
      { device: 5, function: 1, hw: new PciSerialCard() },
      { device: 6, bridge: 'root-port', below: [{ device: 0, hw: new PcieDmaEngine() }] },
      { device: 7, bridge: 'pci-bridge', below: [{ device: 1, hw: new PciSerialCard() }] },
    ],
  };
}

function dev(host: Host, bdf: string): PciDev {
  const d = pciGetDevice(host, bdf);
  assert.ok(d, bdf);
  return d;
}

test('enumeration finds every function depth first and numbers buses in the order bridges are found', async (t) => {
  const mark = sanitizer.mark();
  const host = new Host();
  const root = pciScanRootBus(host, sampleTopology());
  t.after(() => sanitizer.assertNoLeaks(mark));
  assert.deepEqual(
    pciDevices(host).map((d) => d.bdf),
    [
      '0000:00:01.0', '0000:00:02.0', '0000:01:00.0', '0000:00:03.0', '0000:02:00.0', '0000:03:00.0', '0000:04:00.0',
      '0000:03:01.0', '0000:05:00.0', '0000:00:04.0', '0000:06:01.0', '0000:06:02.0', '0000:00:05.0', '0000:00:05.1',
      '0000:00:06.0', '0000:07:00.0', '0000:00:07.0', '0000:08:01.0',
    ],
  );
  const busRange = (bdf: string): [number, number] => {
    const d = dev(host, bdf);
    return [pciReadConfig(d, PCI_SECONDARY_BUS, 1), pciReadConfig(d, PCI_SUBORDINATE_BUS, 1)];
  };
  assert.deepEqual(busRange('0000:00:02.0'), [1, 1]);
  assert.deepEqual(busRange('0000:00:03.0'), [2, 5], 'the switch below takes buses 2-5');
  assert.deepEqual(busRange('0000:02:00.0'), [3, 5]);
  assert.deepEqual(busRange('0000:03:01.0'), [5, 5]);
  assert.deepEqual(busRange('0000:00:07.0'), [8, 8]);
  assert.equal(dev(host, '0000:00:05.0').multifunction, true);
  assert.equal(dev(host, '0000:00:01.0').multifunction, false);
  assert.equal(
    host.sysfs.readlink('/sys/bus/pci/devices/0000:05:00.0'),
    '/sys/devices/pci0000:00/0000:00:03.0/0000:02:00.0/0000:03:01.0/0000:05:00.0',
  );
  assert.equal(host.sysfs.read('/sys/bus/pci/slots/1/address'), '0000:01:00\n');
  assert.equal(dev(host, '0000:01:00.0').slot?.number, 1);
  await pciRemoveRootBus(root);
  assert.deepEqual(host.sysfs.ls('/sys/bus/pci/devices'), []);
  assert.deepEqual(host.sysfs.ls('/sys/kernel/iommu_groups'), []);
  assert.deepEqual(host.sysfs.ls('/sys/bus/pci/slots'), []);
  assert.equal(host.sysfs.exists('/sys/devices/pci0000:00'), false);
});

test('per-device files: ids, class, irq, config bytes, resource lines with assigned BARs, modalias', async (t) => {
  const host = new Host();
  const root = pciScanRootBus(host, { domain: 1, bus: 0x10, devices: [{ device: 3, hw: new PciSerialCard() }, { device: 4, hw: new PcieDmaEngine() }] });
  t.after(() => pciRemoveRootBus(root));
  const d = '/sys/bus/pci/devices/0001:10:03.0';
  assert.equal(host.sysfs.read(`${d}/vendor`), '0x1b36\n');
  assert.equal(host.sysfs.read(`${d}/device`), '0x0002\n');
  assert.equal(host.sysfs.read(`${d}/subsystem_vendor`), '0x1af4\n');
  assert.equal(host.sysfs.read(`${d}/subsystem_device`), '0x1100\n');
  assert.equal(host.sysfs.read(`${d}/class`), '0x070002\n');
  assert.equal(host.sysfs.read(`${d}/irq`), '19\n');
  assert.equal(host.sysfs.read(`${d}/modalias`), 'pci:v00001B36d00000002sv00001AF4sd00001100bc07sc00i02\n');
  const config = pciConfigBytes(host.sysfs.read(`${d}/config`));
  assert.equal(config.length, 256);
  assert.deepEqual([...config.subarray(0, 4)], [0x36, 0x1b, 0x02, 0x00]);
  const lines = host.sysfs.read(`${d}/resource`).trimEnd().split('\n');
  assert.equal(lines.length, 13);
  assert.equal(lines[0], '0x000000000000c000 0x000000000000c007 0x0000000000040101', 'I/O BAR0 assigned from the I/O window');
  assert.equal(lines[1], '0x0000000000000000 0x0000000000000000 0x0000000000000000');
  const dma = host.sysfs.read('/sys/bus/pci/devices/0001:10:04.0/resource').split('\n');
  assert.equal(dma[0], '0x00000000c0000000 0x00000000c0000fff 0x0000000000040200');
  assert.equal(dma[2], '0x00000000c0001000 0x00000000c0001fff 0x0000000000040200');
  assert.equal(host.sysfs.read('/sys/bus/pci/devices/0001:10:04.0/irq'), '20\n');
  assert.equal(pciConfigBytes(host.sysfs.read('/sys/bus/pci/devices/0001:10:04.0/config')).length, 4096);
  assert.throws(() => host.sysfs.write(`${d}/vendor`, '0x1234'), (e: unknown) => VfioError.is(e, 'EACCES'));
});

test('IOMMU groups follow pci_device_group: ACS isolates, a missing ACS or a PCI bridge shares, multifunction shares', async (t) => {
  const host = new Host();
  const root = pciScanRootBus(host, sampleTopology());
  t.after(() => pciRemoveRootBus(root));
  const group = (bdf: string): number => {
    const g = dev(host, bdf).iommuGroup;
    assert.ok(g, `${bdf} has a group`);
    return g.id;
  };
  const same = (a: string, b: string): void => assert.equal(group(a), group(b), `${a} and ${b} share a group`);
  const apart = (a: string, b: string): void => assert.notEqual(group(a), group(b), `${a} and ${b} are isolated`);
  apart('0000:00:02.0', '0000:01:00.0');
  apart('0000:04:00.0', '0000:03:00.0');
  apart('0000:04:00.0', '0000:05:00.0');
  same('0000:05:00.0', '0000:03:01.0');
  same('0000:06:01.0', '0000:00:04.0');
  same('0000:06:02.0', '0000:00:04.0');
  same('0000:00:05.0', '0000:00:05.1');
  apart('0000:00:05.0', '0000:00:01.0');
  same('0000:07:00.0', '0000:00:06.0');
  same('0000:08:01.0', '0000:00:07.0');
  const g = group('0000:06:01.0');
  assert.deepEqual(host.sysfs.ls(`/sys/kernel/iommu_groups/${g}/devices`), ['0000:00:04.0', '0000:06:01.0', '0000:06:02.0']);
  assert.equal(host.sysfs.readlink('/sys/bus/pci/devices/0000:06:01.0/iommu_group'), `/sys/kernel/iommu_groups/${g}`);
});

test('malformed descriptions are refused with EINVAL or EEXIST', () => {
  const card = new PciSerialCard();
  assert.throws(() => pciBuildHardware({ devices: [{ device: 32, hw: new PciSerialCard() }] }), (e: unknown) => VfioError.is(e, 'EINVAL'));
  assert.throws(() => pciBuildHardware({ devices: [{ device: 1, hw: card }, { device: 1, hw: new PciSerialCard() }] }), (e: unknown) => VfioError.is(e, 'EEXIST'));
  assert.throws(() => pciBuildHardware({ devices: [{ device: 1, hw: card }, { device: 2, hw: card }] }), (e: unknown) => VfioError.is(e, 'EEXIST'));
  assert.throws(() => pciBuildHardware({ devices: [{ device: 2, bridge: 'root-port', below: [{ device: 1, hw: new PcieDmaEngine() }] }] }), (e: unknown) => VfioError.is(e, 'EINVAL'));
  assert.throws(() => pciBuildHardware({ devices: [{ device: 5, function: 1, hw: new PciSerialCard() }, { device: 5, function: 2, hw: new PciSerialCard() }] }), (e: unknown) => VfioError.is(e, 'EINVAL'));
  assert.throws(() => pciBuildHardware({ devices: [{ device: 2, bridge: 'pci-bridge', acs: true }] }), (e: unknown) => VfioError.is(e, 'EINVAL'));
});
