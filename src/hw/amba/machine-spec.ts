// The serve config's `machine.amba`: PrimeCell nodes ({name, compatible, reg, interrupts}, a PL011 with its serial
// line's host end) built into AMBA devices, which the bus identifies from their ID registers. The PL011's chardev
// (loopback by default) is opened here and closed by the returned handle.
import { z } from 'zod';
import type { Device } from '../../base/device.js';
import type { Host } from '../../base/host.js';
import type { Logger } from '../../base/log.js';
import { silentLogger } from '../../base/log.js';
import { listOf, nonEmptyString, strictObjectOf } from '../../base/config-schema.js';
import { VfioError } from '../../uapi/errno.js';
import { PORT_FORMS, chardevConfigSchema, createChardev } from '../chardev.js';
import type { Chardev } from '../chardev.js';
import type { MmioHw } from '../platform/mmio-device.js';
import { interruptSchema, nodeNameSchema, regSchema } from '../platform/machine-spec.js';
import { ambaDeviceAdd, ambaDeviceUnregister } from './amba-bus.js';
import type { AmbaDevice } from './amba-bus.js';
import { Pl011 } from './pl011.js';
import { Pl061 } from './pl061.js';

export const AMBA_MODELS = ['arm,pl011', 'arm,pl061'] as const;

export function ambaNodeSchema(baseDir: string) {
  return strictObjectOf({
    name: nodeNameSchema.describe('the node name; the device is `<base in hex>.<name>`'),
    compatible: listOf(nonEmptyString()).min(1, { error: 'needs at least one compatible string' }).describe(`compatible strings, e.g. ["arm,pl011", "arm,primecell"]; the first picks the model (${AMBA_MODELS.join(', ')})`),
    reg: listOf(regSchema).min(1, { error: 'needs one window' }).max(1, { error: 'an AMBA device has one window' }).describe('the MMIO window (its last 32 bytes hold the PrimeCell IDs)'),
    interrupts: listOf(interruptSchema).optional().describe('interrupt lines (default none)'),
    port: chardevConfigSchema(baseDir).optional().describe(`a PL011's host end: ${PORT_FORMS} (default loopback)`),
  });
}

/** The `machine.amba` list. */
export function ambaMachineSchema(baseDir: string) {
  return listOf(ambaNodeSchema(baseDir)).describe('AMBA PrimeCell devices, as device-tree nodes');
}

export type AmbaNodeConfig = z.output<ReturnType<typeof ambaNodeSchema>>;

export interface BuiltAmbaMachine {
  devices(): readonly Device[];
  /** Removes every device (waiting for drivers' removes), then closes the models' host ends. Idempotent. */
  remove(): Promise<void>;
}

/** Builds the nodes into AMBA devices on `host` (a failure removes what was built). */
export async function ambaBuildFromConfig(host: Host, nodes: readonly AmbaNodeConfig[], log: Logger = silentLogger): Promise<BuiltAmbaMachine> {
  const built: { adev: AmbaDevice; chardev: Chardev | null }[] = [];
  let removing: Promise<void> | null = null;
  const remove = (): Promise<void> =>
    (removing ??= (async () => {
      for (const { adev, chardev } of built.splice(0).reverse()) {
        await ambaDeviceUnregister(adev);
        chardev?.close();
      }
    })());
  try {
    for (const n of nodes) {
      const compat = n.compatible[0] ?? '';
      let hw: MmioHw;
      let chardev: Chardev | null = null;
      if (compat === 'arm,pl011') {
        chardev = createChardev(n.port ?? { kind: 'loopback' }, log);
        const uart = new Pl011(chardev.uart === undefined ? {} : { backend: chardev.uart });
        chardev.attach((bytes) => uart.receive(bytes));
        hw = uart;
      } else if (compat === 'arm,pl061') {
        if (n.port !== undefined) throw new VfioError('EINVAL', `machine.amba ${n.name}: port is for a PL011`);
        hw = new Pl061();
      } else {
        throw new VfioError('EINVAL', `machine.amba ${n.name}: compatible ${JSON.stringify(compat)} has no model (one of ${AMBA_MODELS.join(', ')})`);
      }
      try {
        built.push({ adev: ambaDeviceAdd(host, { name: n.name, compatible: n.compatible, reg: n.reg, interrupts: n.interrupts ?? [] }, hw), chardev });
      } catch (err) {
        chardev?.close();
        throw err;
      }
    }
  } catch (err) {
    await remove();
    throw err;
  }
  return { devices: () => built.map((b) => b.adev), remove };
}
