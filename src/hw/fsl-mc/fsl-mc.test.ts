// The simulated fsl-mc bus without VFIO: the MC command interface (sessions, scope, errors, object state, container
// reset), the bus and its sysfs (devices from a scan, driver_override, modalias, IOMMU groups per container), the
// DPRC driver's unbind and rebind, and an object's MSI reaching its handler.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Host } from '../../base/host.js';
import { VfioError } from '../../uapi/errno.js';
import { sanitizer } from '../../sanitizer/sanitizer.js';
import {
  DPNI_IRQ_EVENT_LINK_CHANGED,
  DPRC_RESET_OPTION_NON_RECURSIVE,
  FSL_MC_OBJ_STATE_OPEN,
  MC_CMD_SIZE,
  MC_CMD_STATUS_OK,
  OBJ_CMDID_ENABLE,
  OBJ_CMDID_GET_ATTR,
  OBJ_CMDID_IS_ENABLED,
  OBJ_CMDID_SET_IRQ_ENABLE,
  OBJ_CMDID_SET_IRQ_MASK,
  OBJ_CMDID_GET_IRQ_STATUS,
  OBJ_CMDID_CLEAR_IRQ_STATUS,
  mcEncodeCmd,
  mcReadHeader,
} from './mc-cmd.js';
import { dprcGetObj, dprcGetObjCount, dprcOpen, dprcResetContainer, fslMcObjClose, fslMcObjOpen } from './dprc.js';
import { DpioHw, DpniHw } from './mc-objects.js';
import { fslMcAllocateIrqs, fslMcFreeIrq, fslMcFreeIrqs, fslMcCleanupIrqPool, fslMcPopulateIrqPool, fslMcRequestIrq } from './fsl-mc-msi.js';
import { mcCall, portalOf, standardMachine } from './fsl-mc.test-kit.js';

const errno = (code: string) => (e: unknown) => e instanceof VfioError && e.code === code;

test('the MC answers through a portal: sessions per portal, scope, status errors, object state', async (t) => {
  const mark = sanitizer.mark();
  const host = new Host();
  const m = standardMachine(host);
  t.after(async () => {
    await m.destroy();
    sanitizer.assertNoLeaks(mark);
  });
  const io = portalOf(m, 'dpmcp.2');
  const dpni = m.object('dpni.0');
  assert.ok(dpni instanceof DpniHw);

  const token = fslMcObjOpen(io, 0, 'dpni');
  assert.notEqual(token, 0);
  assert.equal(m.mc.stateOf(dpni) & FSL_MC_OBJ_STATE_OPEN, FSL_MC_OBJ_STATE_OPEN);
  // One open of an object per portal; another portal may open it too.
  assert.throws(() => fslMcObjOpen(io, 0, 'dpni'), errno('EBUSY'));
  const other = portalOf(m, 'dprc.2');
  fslMcObjClose(other, fslMcObjOpen(other, 0, 'dpni'));

  assert.equal(mcCall(io, OBJ_CMDID_IS_ENABLED, token).p.getUint8(0), 0);
  mcCall(io, OBJ_CMDID_ENABLE, token);
  assert.equal(dpni.enabled, true);
  assert.equal(mcCall(io, OBJ_CMDID_IS_ENABLED, token).p.getUint8(0), 1);
  assert.equal(mcCall(io, OBJ_CMDID_GET_ATTR, fslMcObjOpen(io, 0, 'dpbp')).p.getUint16(2, true), 7, 'dpbp reports its bpid');

  // A portal reaches only its container (and what is below it): dprc.1 is outside dpmcp.2's.
  assert.throws(() => dprcOpen(io, 1), errno('EPERM'));
  assert.throws(() => fslMcObjOpen(io, 99, 'dpni'), errno('ENXIO'));
  assert.throws(() => fslMcObjOpen(io, 0, 'dpfoo'), errno('ENODEV'));
  assert.throws(() => mcCall(io, OBJ_CMDID_ENABLE, 0x7777), errno('EACCES'), 'a token with no session');
  assert.throws(() => mcCall(io, 0x9991, token), errno('EOPNOTSUPP'), 'a command the MC does not know');
  fslMcObjClose(io, token);
  assert.throws(() => mcCall(io, OBJ_CMDID_ENABLE, token), errno('EACCES'), 'closed');

  // The raw window: the header store submits; the answer replaces the status.
  const raw = m.object('dpmcp.2')?.regions[0];
  assert.ok(raw !== undefined);
  assert.equal(raw.size, MC_CMD_SIZE);
  const cmd = mcEncodeCmd(0x8051, 0);
  new DataView(cmd.buffer).setUint32(8, 2, true);
  raw.write(8, cmd.subarray(8));
  raw.write(0, cmd.subarray(0, 8));
  const back = new Uint8Array(8);
  raw.read(0, back);
  assert.equal(mcReadHeader(back).status, MC_CMD_STATUS_OK);
  assert.notEqual(mcReadHeader(back).token, 0, 'dprc_open answered with a token');
});

test('the bus: a scan adds the objects with sysfs, modalias, driver_override and one IOMMU group per container', async (t) => {
  const mark = sanitizer.mark();
  const host = new Host();
  const m = standardMachine(host);
  t.after(async () => {
    await m.destroy();
    sanitizer.assertNoLeaks(mark);
  });
  assert.deepEqual(host.sysfs.ls('/sys/bus/fsl-mc/devices'), ['dpbp.0', 'dpcon.0', 'dpio.0', 'dpmcp.1', 'dpmcp.2', 'dpni.0', 'dprc.1', 'dprc.2']);
  assert.equal(host.sysfs.readlink('/sys/bus/fsl-mc/devices/dpni.0'), '/sys/devices/80c000000.fsl-mc/dprc.1/dprc.2/dpni.0');
  assert.equal(host.sysfs.read('/sys/bus/fsl-mc/devices/dpni.0/modalias'), 'fsl-mc:v00001957ddpni\n');
  assert.equal(host.sysfs.read('/sys/bus/fsl-mc/devices/dpni.0/driver_override'), '(null)\n');
  assert.equal(host.sysfs.readlink('/sys/bus/fsl-mc/devices/dprc.2/driver'), '/sys/bus/fsl-mc/drivers/fsl_mc_dprc');
  assert.equal(host.sysfs.exists('/sys/bus/fsl-mc/devices/dpni.0/driver'), false, 'no driver for a dpni here');
  const dprc2 = m.device('dprc.2');
  const dpni = m.device('dpni.0');
  const dpio = m.device('dpio.0');
  assert.ok(dprc2 && dpni && dpio);
  assert.equal(dpni.iommuGroup, dprc2.iommuGroup);
  assert.notEqual(dprc2.iommuGroup, m.root.iommuGroup);
  assert.equal(dpni.icid, 20);
  // Regions as the MC described them: the DPIO's two 64 KiB QBMan windows, the DPRC's 64-byte MC portal.
  assert.deepEqual(dpio.regions.map((r) => r.size), [0x10000, 0x10000]);
  assert.deepEqual(dprc2.regions.map((r) => r.size), [64]);
  assert.equal(dprc2.objDesc.irqCount, 1);

  // Unbinding the DPRC driver removes what it scanned; binding again scans again.
  host.sysfs.write('/sys/bus/fsl-mc/drivers/fsl_mc_dprc/unbind', 'dprc.2');
  assert.equal(m.device('dpni.0'), undefined);
  assert.equal(host.sysfs.exists('/sys/bus/fsl-mc/devices/dpni.0'), false);
  host.sysfs.write('/sys/bus/fsl-mc/drivers/fsl_mc_dprc/bind', 'dprc.2');
  assert.deepEqual(m.devices().map((d) => d.name), ['dprc.1', 'dpmcp.1', 'dprc.2', 'dpbp.0', 'dpcon.0', 'dpmcp.2', 'dpni.0', 'dpio.0']);
});

test('a DPRC reset resets every object inside and closes their sessions; non-recursive leaves child containers', async (t) => {
  const mark = sanitizer.mark();
  const host = new Host();
  const m = standardMachine(host);
  t.after(async () => {
    await m.destroy();
    sanitizer.assertNoLeaks(mark);
  });
  const io = portalOf(m, 'dpmcp.2');
  const dpni = m.object('dpni.0');
  const dpio = m.object('dpio.0');
  assert.ok(dpni instanceof DpniHw && dpio instanceof DpioHw);
  const token = fslMcObjOpen(io, 0, 'dpni');
  mcCall(io, OBJ_CMDID_ENABLE, token);
  mcCall(io, OBJ_CMDID_SET_IRQ_MASK, token, (p) => p.setUint32(0, 1, true));
  const cena = dpio.regions[0];
  assert.ok(cena !== undefined);
  cena.write(0x100, Uint8Array.of(1, 2, 3, 4));

  // Through dprc.1's root portal: reset dprc.1 itself, non-recursively: dprc.2's objects are untouched.
  // The root DPRC is open by its driver on the root portal already: a second open there is refused.
  assert.throws(() => dprcOpen(portalOf(m, 'dprc.1'), 1), errno('EBUSY'));
  const rootIo = m.root.mcIo;
  assert.ok(rootIo !== null);
  dprcResetContainer(rootIo, m.root.mcHandle, 1, DPRC_RESET_OPTION_NON_RECURSIVE);
  assert.equal(dpni.enabled, true);

  // dprc.2 resetting itself through the session its driver opened, as vfio-fsl-mc does.
  const dprc2 = m.device('dprc.2');
  const io2 = dprc2?.mcIo;
  assert.ok(dprc2 !== undefined && io2 != null);
  const t2 = dprc2.mcHandle;
  dprcResetContainer(io2, t2, 2, DPRC_RESET_OPTION_NON_RECURSIVE);
  assert.equal(dpni.enabled, false);
  assert.equal(dpni.irqs[0]?.mask, 0);
  assert.equal(dpni.resets, 1);
  const b = new Uint8Array(4);
  cena.read(0x100, b);
  assert.deepEqual([...b], [0, 0, 0, 0], 'the DPIO portal memory is cleared');
  assert.throws(() => mcCall(io, OBJ_CMDID_IS_ENABLED, token), errno('EACCES'), 'sessions on the objects were closed');
  // The container's own session survives its reset.
  assert.equal(dprcGetObjCount(io2, t2), 5);
  assert.equal(dprcGetObj(io2, t2, 4).type, 'dpmcp');
});

test("an object's MSI: pool, irqs, request_irq programs it through the container, the cause fires it once", async (t) => {
  const mark = sanitizer.mark();
  const host = new Host();
  const m = standardMachine(host);
  const dprc2 = m.device('dprc.2');
  const dpniDev = m.device('dpni.0');
  const dpni = m.object('dpni.0');
  assert.ok(dprc2 && dpniDev && dpni instanceof DpniHw);
  t.after(async () => {
    await m.destroy();
    sanitizer.assertNoLeaks(mark);
  });
  fslMcPopulateIrqPool(dprc2, 8);
  const [irq] = fslMcAllocateIrqs(dpniDev);
  assert.ok(irq !== undefined);
  const seen: number[] = [];
  fslMcRequestIrq(dpniDev, irq, (virq) => seen.push(virq));
  assert.equal(dpni.irqs[0]?.msiData, irq.virq);

  // Software enables the cause through a portal; the link changing raises the MSI once until cleared.
  const io = portalOf(m, 'dpmcp.2');
  const token = fslMcObjOpen(io, 0, 'dpni');
  mcCall(io, OBJ_CMDID_SET_IRQ_MASK, token, (p) => p.setUint32(0, DPNI_IRQ_EVENT_LINK_CHANGED, true));
  mcCall(io, OBJ_CMDID_SET_IRQ_ENABLE, token, (p) => p.setUint8(0, 1));
  dpni.setLink(true);
  dpni.setLink(false);
  assert.deepEqual(seen, [irq.virq], 'one edge while the status stays set');
  assert.equal(mcCall(io, OBJ_CMDID_GET_IRQ_STATUS, token).p.getUint32(0, true), DPNI_IRQ_EVENT_LINK_CHANGED);
  mcCall(io, OBJ_CMDID_CLEAR_IRQ_STATUS, token, (p) => p.setUint32(0, DPNI_IRQ_EVENT_LINK_CHANGED, true));
  dpni.setLink(true);
  assert.deepEqual(seen, [irq.virq, irq.virq]);

  // Freed: the MSI is cleared in the object; the pool goes only when every irq is back.
  fslMcFreeIrq(dpniDev, irq);
  assert.equal(dpni.irqs[0]?.msiAddr, 0n);
  fslMcCleanupIrqPool(dprc2);
  assert.notEqual(dprc2.mcBus?.irqPool, null, 'still in use');
  fslMcFreeIrqs(dpniDev);
  fslMcCleanupIrqPool(dprc2);
  assert.equal(dprc2.mcBus?.irqPool, null);
});

test("an object's state saves to a versioned record and loads back; a foreign record is refused", () => {
  const dpni = new DpniHw(5);
  dpni.enabled = true;
  const irq = dpni.irqs[0];
  assert.ok(irq !== undefined);
  irq.enable = true;
  irq.mask = DPNI_IRQ_EVENT_LINK_CHANGED;
  dpni.setLink(true);
  const rec = dpni.save();
  assert.deepEqual(rec, { version: 1, enabled: true, irqs: [{ enable: true, mask: 1, status: 1 }] });
  dpni.reset();
  assert.equal(dpni.enabled, false);
  dpni.load(rec);
  assert.equal(dpni.enabled, true);
  assert.deepEqual({ enable: irq.enable, mask: irq.mask, status: irq.status }, { enable: true, mask: 1, status: 1 });
  assert.throws(() => dpni.load({ ...rec, irqs: [] }), errno('EINVAL'));
});
