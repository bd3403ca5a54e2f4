// The platform bus and its models: devices from DT nodes in sysfs (modalias, of_node, driver_override, IOMMU
// group), platform_match and driver_override binding, remove waiting for a driver's asynchronous remove; the IRQ
// line's level/edge semantics; the XGMAC, XGBE and SRAM models driven through their registers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Host } from '../../base/host.js';
import { sanitizer } from '../../sanitizer/sanitizer.js';
import { IrqLine } from './irq-line.js';
import { platformDeviceRegister, platformDeviceUnregister } from './platform-device.js';
import { platformDriverRegister, platformDriverUnregister } from './platform-bus.js';
import type { PlatformDevice } from './platform-bus.js';
import * as X from './calxeda-xgmac.js';
import * as G from './amd-xgbe.js';
import { MmioSram } from './mmio-sram.js';

const xgmacNode = { name: 'ethernet', compatible: ['calxeda,hb-xgmac'], reg: [{ base: 0xfff50000, size: 0x1000 }], interrupts: [{ line: 77, trigger: 'level' as const }] };

test('a platform device from a DT node: name, sysfs, IOMMU group; binding by compatible and by driver_override', async (t) => {
  const mark = sanitizer.mark();
  const host = new Host();
  const pdev = platformDeviceRegister(host, xgmacNode, new X.CalxedaXgmac());
  t.after(() => sanitizer.assertNoLeaks(mark));
  const dir = '/sys/bus/platform/devices/fff50000.ethernet';
  assert.equal(pdev.name, 'fff50000.ethernet');
  assert.equal(host.sysfs.readlink(dir), '/sys/devices/platform/fff50000.ethernet');
  assert.equal(host.sysfs.read(`${dir}/modalias`), 'of:NethernetT(null)Ccalxeda,hb-xgmac\n');
  assert.equal(host.sysfs.read(`${dir}/of_node/compatible`), 'calxeda,hb-xgmac\0');
  assert.equal(host.sysfs.read(`${dir}/driver_override`), '(null)\n');
  assert.ok(pdev.iommuGroup !== null && host.sysfs.exists(`${dir}/iommu_group`), 'its own IOMMU group');
  const probed: PlatformDevice[] = [];
  let release: () => void = () => {};
  const byCompat = platformDriverRegister(host, { name: 'xgmac', ofMatchTable: ['calxeda,hb-xgmac'], probe: (d) => probed.push(d) });
  assert.deepEqual(probed, [pdev], 'of_match_table binds at registration');
  await platformDriverUnregister(host, byCompat);
  const other = platformDriverRegister(host, {
    name: 'other',
    probe: (d) => probed.push(d),
    remove: () => new Promise<void>((r) => (release = r)),
  });
  assert.equal(pdev.driver, null, 'no match by compatible or name');
  assert.throws(() => host.sysfs.write('/sys/bus/platform/drivers/other/bind', pdev.name), /ENODEV|does not match/);
  host.sysfs.write(`${dir}/driver_override`, 'other');
  host.sysfs.write('/sys/bus/platform/drivers/other/bind', pdev.name);
  assert.equal(pdev.driver, other);
  // Removal waits for the driver's asynchronous remove.
  let gone = false;
  const removal = platformDeviceUnregister(pdev).then(() => (gone = true));
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(gone, false, 'remove still under way');
  release();
  await removal;
  assert.equal(host.sysfs.exists(dir), false);
  await platformDriverUnregister(host, other);
});

test('IRQ lines: level re-delivers on enable while asserted; an edge while disabled is latched and replayed', () => {
  const level = new IrqLine(1, 'level');
  let n = 0;
  level.request(() => { n++; level.disable(); }, { noAutoEn: true });
  level.set(true);
  assert.equal(n, 0, 'NO_AUTOEN: disabled until enabled');
  level.enable();
  assert.equal(n, 1, 'enabling an asserted level line delivers it');
  level.enable();
  assert.equal(n, 2, 'still asserted after the handler masked it: delivered again on unmask');
  level.set(false);
  level.enable();
  assert.equal(n, 2);
  const edge = new IrqLine(2, 'edge');
  let e = 0;
  edge.request(() => e++);
  edge.set(true);
  edge.set(true);
  assert.equal(e, 1, 'only the rising edge');
  edge.set(false);
  edge.disable();
  edge.set(true);
  assert.equal(e, 1);
  edge.enable();
  assert.equal(e, 2, 'the latched edge is replayed');
  edge.free();
  assert.throws(() => { level.request(() => {}); }, /EBUSY|already/);
});

test('Calxeda XGMAC: a frame raises TI/RI on its line, MMC counts, W1C status, software reset clears everything', () => {
  const hw = new X.CalxedaXgmac();
  const line = new IrqLine(77, 'level');
  let fired = 0;
  line.request(() => fired++);
  hw.connectIrqs([line]);
  hw.write(0, X.XGMAC_DMA_INTR_ENA, 4, X.DMA_INTR_ENA_TIE | X.DMA_INTR_ENA_RIE | X.DMA_INTR_ENA_NIE);
  hw.write(0, X.XGMAC_DMA_TX_POLL, 4, 1);
  assert.equal(hw.read(0, X.XGMAC_MMC_TXFRAME, 4), 0, 'nothing sent while the MAC is off');
  hw.write(0, X.XGMAC_CONTROL, 4, X.MAC_ENABLE_TX | X.MAC_ENABLE_RX);
  hw.write(0, X.XGMAC_DMA_CONTROL, 4, X.DMA_CONTROL_ST | X.DMA_CONTROL_SR);
  hw.write(0, X.XGMAC_DMA_TX_POLL, 4, 1);
  assert.equal(hw.read(0, X.XGMAC_MMC_TXFRAME, 4), 1);
  assert.equal(hw.read(0, X.XGMAC_MMC_RXFRAME, 4), 1, 'looped back into the running receiver');
  assert.equal(hw.read(0, X.XGMAC_DMA_STATUS, 4), X.DMA_STATUS_TI | X.DMA_STATUS_RI | X.DMA_STATUS_NIS);
  assert.equal(line.level, true);
  assert.equal(fired, 1);
  hw.write(0, X.XGMAC_DMA_STATUS, 4, X.DMA_STATUS_TI | X.DMA_STATUS_RI);
  assert.equal(hw.read(0, X.XGMAC_DMA_STATUS, 4), 0, 'W1C; the summary goes with its causes');
  assert.equal(line.level, false);
  hw.write(0, X.XGMAC_MMC_CTRL, 4, X.MMC_CTRL_CNT_RESET);
  assert.equal(hw.read(0, X.XGMAC_MMC_TXFRAME, 4), 0);
  hw.write(0, X.XGMAC_DMA_BUS_MODE, 4, X.DMA_BUS_MODE_SFT_RESET);
  assert.equal(hw.read(0, X.XGMAC_CONTROL, 4), 0);
  assert.equal(hw.read(0, X.XGMAC_DMA_CONTROL, 4), 0);
  assert.equal(hw.read(0, X.XGMAC_DMA_BUS_MODE, 4), 0, 'the reset bit clears itself');
  assert.equal(hw.read(0, X.XGMAC_CONTROL + 1, 1), 0, 'byte reads pick a lane');
});

test('AMD XGBE: indirect MMD access through the XPCS select register, PCS reset, AN interrupt, MAC software reset', () => {
  const hw = new G.AmdXgbe();
  const lines = [new IrqLine(1, 'level'), new IrqLine(2, 'level')];
  hw.connectIrqs(lines);
  const mmdRead = (mmd: number, reg: number): number => {
    const a = (mmd << 16) | reg;
    hw.write(1, G.PCS_MMD_SELECT << 2, 4, a >>> 8);
    return hw.read(1, (a & 0xff) << 2, 4);
  };
  const mmdWrite = (mmd: number, reg: number, v: number): void => {
    const a = (mmd << 16) | reg;
    hw.write(1, G.PCS_MMD_SELECT << 2, 4, a >>> 8);
    hw.write(1, (a & 0xff) << 2, 4, v);
  };
  assert.equal(mmdRead(G.MDIO_MMD_AN, G.MDIO_CTRL1) & G.MDIO_AN_CTRL1_ENABLE, G.MDIO_AN_CTRL1_ENABLE, 'AN on after power-up');
  mmdWrite(G.MDIO_MMD_AN, G.MDIO_AN_INTMASK, 0x7);
  hw.linkEvent();
  assert.equal(lines[1]?.level, true, 'AN complete, unmasked: line 1');
  mmdWrite(G.MDIO_MMD_AN, G.MDIO_AN_INT, 0);
  assert.equal(lines[1]?.level, false);
  mmdWrite(G.MDIO_MMD_PCS, G.MDIO_CTRL1, G.MDIO_CTRL1_RESET);
  assert.equal(mmdRead(G.MDIO_MMD_PCS, G.MDIO_CTRL1) & G.MDIO_CTRL1_RESET, 0, 'the PCS reset completed');
  assert.equal(mmdRead(G.MDIO_MMD_AN, G.MDIO_AN_INTMASK), 0, 'the PCS reset cleared the AN mask');
  hw.write(0, G.MAC_TCR, 4, G.MAC_TCR_TE);
  hw.write(0, G.MAC_IER, 4, 0xff);
  assert.equal(hw.read(0, G.MAC_VR, 4), G.XGBE_MAC_VERSION);
  hw.write(0, G.DMA_MR, 4, hw.read(0, G.DMA_MR, 4) | G.DMA_MR_SWR);
  assert.equal(hw.read(0, G.DMA_MR, 4) & G.DMA_MR_SWR, 0);
  assert.equal(hw.read(0, G.MAC_TCR, 4), 0, 'the MAC software reset cleared TE');
  assert.equal(hw.read(0, G.MAC_IER, 4), 0);
});

test('mmio-sram: memory behind a memfd the driver can map; contents survive reset', () => {
  const sram = new MmioSram(8192);
  try {
    sram.write(0, 0x10, 4, 0xdeadbeef);
    sram.reset();
    assert.equal(sram.read(0, 0x10, 4), 0xdeadbeef);
    assert.equal(sram.read(0, 0x11, 1), 0xbe);
    const m = sram.memory(0);
    assert.ok(m !== null && m.fd >= 0);
    assert.equal(sram.memory(1), null);
    assert.throws(() => new MmioSram(100), /EINVAL|multiple/);
  } finally {
    sram.close();
    sram.close();
  }
});
