// The serve config's `machine.platform`: device-tree-like nodes ({name, compatible, reg, interrupts}) built into
// platform devices with the model their first compatible string names, like the DT's nodes under /soc. The models'
// host resources (SRAM backings) are released by the returned handle.
import { z } from 'zod';
import type { Device } from '../../base/device.js';
import type { Host } from '../../base/host.js';
import type { Logger } from '../../base/log.js';
import { intRange, listOf, nonEmptyString, strictObjectOf } from '../../base/config-schema.js';
import { VfioError } from '../../uapi/errno.js';
import { AmdXgbe } from './amd-xgbe.js';
import { CalxedaXgmac } from './calxeda-xgmac.js';
import type { MmioHw, OfNode } from './mmio-device.js';
import { MmioSram } from './mmio-sram.js';
import type { PlatformDevice } from './platform-bus.js';
import { platformDeviceRegister, platformDeviceUnregister } from './platform-device.js';

/** The compatible strings a node may name, with the model each builds. */
export const PLATFORM_MODELS = ['calxeda,hb-xgmac', 'amd,xgbe-seattle-v1a', 'mmio-sram'] as const;

/** One `reg` entry: a window's base and size (addresses up to 2^48). */
export const regSchema = strictObjectOf({
  base: intRange(0, 2 ** 48, 'the window\'s physical base address').describe('physical base address'),
  size: intRange(1, 2 ** 32, 'the window\'s size in bytes').describe('size in bytes'),
});

/** One `interrupts` entry: the line number and how it is triggered. */
export const interruptSchema = strictObjectOf({
  line: intRange(0, 1019, 'the interrupt number (GIC SPI)').describe('interrupt number'),
  trigger: z.enum(['level', 'edge'], { error: (iss) => `must be "level" or "edge", got ${JSON.stringify(iss.input)}` }).describe('level (IRQ_TYPE_LEVEL_HIGH) or edge (IRQ_TYPE_EDGE_RISING)'),
});

/** A node name as the DT writes it (no unit address: the device is named `<base>.<name>`). */
export const nodeNameSchema = nonEmptyString('the node name, e.g. "ethernet"').regex(/^[A-Za-z0-9,._+-]+$/, { error: (iss) => `must be a DT node name (letters, digits, ,._+-), got ${JSON.stringify(iss.input)}` });

export function platformNodeSchema() {
  return strictObjectOf({
    name: nodeNameSchema.describe('the node name; the device is `<base in hex>.<name>`'),
    compatible: listOf(nonEmptyString()).min(1, { error: 'needs at least one compatible string' }).describe(`compatible strings; the first picks the model (${PLATFORM_MODELS.join(', ')})`),
    reg: listOf(regSchema).min(1, { error: 'needs at least one window' }).describe('MMIO windows'),
    interrupts: listOf(interruptSchema).optional().describe('interrupt lines (default none)'),
  });
}

/** The `machine.platform` list. */
export function platformMachineSchema() {
  return listOf(platformNodeSchema()).describe('platform devices, as device-tree nodes');
}

export type PlatformNodeConfig = z.output<ReturnType<typeof platformNodeSchema>>;

/** The devices a config built, and their removal. */
export interface BuiltPlatformMachine {
  devices(): readonly Device[];
  /** Removes every device (waiting for drivers' removes), then releases the models. Idempotent. */
  remove(): Promise<void>;
}

/** The model `node`'s first compatible string names; EINVAL naming the key when none fits. */
function platformModelFor(node: PlatformNodeConfig): MmioHw {
  const compat = node.compatible[0] ?? '';
  const window = (i: number): number => node.reg[i]?.size ?? 0;
  switch (compat) {
    case 'calxeda,hb-xgmac':
      return new CalxedaXgmac();
    case 'amd,xgbe-seattle-v1a':
      if (node.reg.length < 2) throw new VfioError('EINVAL', `machine.platform ${node.name}: amd,xgbe-seattle-v1a needs two windows (XGMAC, XPCS)`);
      return new AmdXgbe();
    case 'mmio-sram':
      return new MmioSram(window(0));
    default:
      throw new VfioError('EINVAL', `machine.platform ${node.name}: compatible ${JSON.stringify(compat)} has no model (one of ${PLATFORM_MODELS.join(', ')})`);
  }
}

/** Builds the nodes into platform devices on `host` (a failure removes what was built). */
export async function platformBuildFromConfig(host: Host, nodes: readonly PlatformNodeConfig[], _log?: Logger): Promise<BuiltPlatformMachine> {
  const built: { pdev: PlatformDevice; hw: MmioHw }[] = [];
  let removing: Promise<void> | null = null;
  const remove = (): Promise<void> =>
    (removing ??= (async () => {
      for (const { pdev, hw } of built.splice(0).reverse()) {
        await platformDeviceUnregister(pdev);
        hw.close?.();
      }
    })());
  try {
    for (const n of nodes) {
      const hw = platformModelFor(n);
      const node: OfNode = { name: n.name, compatible: n.compatible, reg: n.reg, interrupts: n.interrupts ?? [] };
      try {
        built.push({ pdev: platformDeviceRegister(host, node, hw), hw });
      } catch (err) {
        hw.close?.();
        throw err;
      }
    }
  } catch (err) {
    await remove();
    throw err;
  }
  return { devices: () => built.map((b) => b.pdev), remove };
}
