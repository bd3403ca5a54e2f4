// The simulated IGD as the PCI core and a host driver see it: enumerated at 00:02.0 with Intel VGA ids and its
// two BARs, graphics memory through the aperture BAR, fences and the GTT in BAR0, the display's interrupt on
// INTx, a record, and the memory given back by destroy().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Host } from '../../base/host.js';
import { sanitizer } from '../../sanitizer/sanitizer.js';
import { VfioError } from '../../uapi/errno.js';
import { PCI_COMMAND, PCI_COMMAND_MEMORY } from '../../uapi/pci-regs.js';
import { openFdCount } from '../../native/fd.test-kit.js';
import { pciGetDevice, pciReadConfig, pciRemoveRootBus, pciScanRootBus, pciWriteConfig } from '../pci/index.js';
import { RecordingSink } from '../pci/pci.test-kit.js';
import { I915Gpu } from './i915-gpu.js';
import { FENCE_REG_GEN6_LO, GEN8_DE_PIPE_IER, GEN8_DE_PIPE_IMR, GEN8_MASTER_IRQ, GEN8_MASTER_IRQ_CONTROL, I915_GTT_OFFSET, PLANE_SURF } from './i915-regs.js';
import { programPlane } from './i915.test-kit.js';

const u32 = (v: number): Uint8Array => new Uint8Array(new Uint32Array([v >>> 0]).buffer);
const rd32 = (b: Uint8Array): number => new DataView(b.buffer, b.byteOffset).getUint32(0, true);

test('enumerated at 0000:00:02.0: 8086:5912, class VGA, BAR0 16 MiB and BAR2 the aperture', async (t) => {
  const mark = sanitizer.mark();
  const fds = openFdCount();
  const host = new Host();
  const gpu = new I915Gpu({ apertureMb: 256, hiddenMb: 768, fences: 16 });
  const root = pciScanRootBus(host, { devices: [{ device: 2, hw: gpu }] });
  t.after(async () => {
    await pciRemoveRootBus(root);
    gpu.destroy();
    assert.equal(openFdCount(), fds, 'destroy closed the GM memfd');
    sanitizer.assertNoLeaks(mark);
  });
  const pdev = pciGetDevice(host, '0000:00:02.0');
  assert.ok(pdev);
  assert.deepEqual([pdev.vendor, pdev.device, pdev.classCode >> 8], [0x8086, 0x5912, 0x0300]);
  assert.equal(host.sysfs.read('/sys/bus/pci/devices/0000:00:02.0/class'), '0x030000\n');
  assert.equal(gpu.gmSize, 1024 << 20);
  pciWriteConfig(pdev, 0x10, 4, 0xffffffff);
  assert.equal(pciReadConfig(pdev, 0x10, 4) & ~0xf, ~(16 * 1024 * 1024 - 1) & ~0xf);
  pciWriteConfig(pdev, 0x18, 4, 0xffffffff);
  assert.equal(pciReadConfig(pdev, 0x18, 4) & 0xf, 0xc, 'BAR2 is 64-bit prefetchable');
  assert.equal((pciReadConfig(pdev, 0x18, 4) & ~0xf) >>> 0, (~(256 * 1024 * 1024 - 1) & ~0xf) >>> 0);
});

test('the aperture BAR reaches graphics memory; fences and GTT entries read back; out of range GM is EINVAL', () => {
  const gpu = new I915Gpu({ apertureMb: 64, hiddenMb: 64, fences: 4 });
  try {
    gpu.config.write(PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    gpu.barWrite(2, 0x1000, Uint8Array.of(1, 2, 3, 4));
    const b = new Uint8Array(4);
    gpu.gmRead(0x1000, b);
    assert.deepEqual([...b], [1, 2, 3, 4]);
    gpu.gmWrite((64 << 20) + 8, Uint8Array.of(9));
    const h = new Uint8Array(1);
    gpu.gmRead((64 << 20) + 8, h);
    assert.equal(h[0], 9, 'hidden GM is memory too, just not behind the BAR');
    assert.throws(() => gpu.gmRead((128 << 20) - 2, new Uint8Array(4)), (e: unknown) => VfioError.is(e, 'EINVAL'));
    gpu.barWrite(0, FENCE_REG_GEN6_LO + 8, u32(0xabc01000));
    gpu.barWrite(0, FENCE_REG_GEN6_LO + 12, u32(0x1));
    assert.deepEqual(gpu.fence(1), { lo: 0xabc01000, hi: 1 });
    gpu.barWrite(0, FENCE_REG_GEN6_LO + 4 * 8, u32(7));
    assert.deepEqual(gpu.fence(4), { lo: 0, hi: 0 }, 'no fifth fence');
    gpu.barWrite(0, I915_GTT_OFFSET + 16, u32(0x12345003));
    const g = new Uint8Array(8);
    gpu.barRead(0, I915_GTT_OFFSET + 16, g);
    assert.equal(rd32(g), 0x12345003);
    gpu.barWrite(0, I915_GTT_OFFSET + 17, Uint8Array.of(0xff));
    gpu.barRead(0, I915_GTT_OFFSET + 16, g);
    assert.equal(rd32(g), 0x1234ff03, 'a byte write merges into its dword');
    const rec = gpu.save();
    const other = new I915Gpu({ apertureMb: 64, hiddenMb: 64, fences: 4 });
    try {
      other.load(JSON.parse(JSON.stringify(rec)));
      assert.deepEqual(other.fence(1), { lo: 0xabc01000, hi: 1 });
      assert.throws(() => other.load({ ...rec, fences: [1] }), (e: unknown) => VfioError.is(e, 'EINVAL'));
    } finally {
      other.destroy();
    }
    gpu.hardwareReset('flr');
    assert.deepEqual(gpu.fence(1), { lo: 0, hi: 0 });
    gpu.config.write(PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    gpu.barRead(0, I915_GTT_OFFSET + 16, g);
    assert.equal(rd32(g), 0);
  } finally {
    gpu.destroy();
  }
  assert.throws(() => gpu.gmFd, (e: unknown) => VfioError.is(e, 'ENODEV'));
});

test('a flip raises INTx through the display engine once unmasked and the master control is on', () => {
  const gpu = new I915Gpu({ apertureMb: 64, hiddenMb: 0 });
  try {
    const sink = new RecordingSink();
    gpu.irq.setSink(sink);
    gpu.config.write(PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    gpu.barWrite(0, GEN8_DE_PIPE_IER(0), u32(1 << 3));
    gpu.barWrite(0, GEN8_DE_PIPE_IMR(0), u32(~(1 << 3)));
    gpu.barWrite(0, GEN8_MASTER_IRQ, u32(GEN8_MASTER_IRQ_CONTROL));
    programPlane(gpu.display, 0, 0, 64, 64);
    assert.deepEqual(sink.events, ['intx 1']);
    gpu.barWrite(0, GEN8_MASTER_IRQ, u32(0));
    assert.deepEqual(sink.events, ['intx 1', 'intx 0']);
    gpu.barWrite(0, PLANE_SURF(0), u32(0x1000));
    assert.equal(sink.events.length, 2);
  } finally {
    gpu.destroy();
  }
});
