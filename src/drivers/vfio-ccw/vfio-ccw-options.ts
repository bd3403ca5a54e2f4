// The vfio-ccw module's options (the config's `modules.vfio-ccw`): the channel subsystem it simulates (subchannels
// with their devices and paths) and which subchannels vfio_ccw binds (driver_override; default all).
import { z } from 'zod';
import { intRange, listOf, resolvedPath } from '../../base/config-schema.js';
import type { ConfigContext } from '../descriptor.js';

const busId = z.string().regex(/^[0-9a-fA-F]{1,2}\.[0-3]\.[0-9a-fA-F]{4}$/, { error: 'a bus id like 0.0.0100' });

function deviceSchema(ctx: ConfigContext) {
  return z.discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('fba-disk'),
      blocks: intRange(1, 1 << 22).optional().describe('size in 512-byte blocks (a memfd; default 2048)'),
      image: resolvedPath(ctx.baseDir).optional().describe('an image file instead of a memfd'),
      readOnly: z.boolean().optional(),
    }),
    z.strictObject({ kind: z.literal('unit-record') }),
  ]);
}

/** The options' zod schema; relative image paths resolve against `ctx.baseDir`. */
export function vfioCcwModuleSchema(ctx: ConfigContext) {
  return z.strictObject({
    subchannels: listOf(
      z.strictObject({
        schid: busId.describe('the subchannel, e.g. 0.0.0100'),
        devno: busId.describe('the device number, e.g. 0.0.1234'),
        chpids: listOf(intRange(0, 255)).min(1).max(8).optional().describe('channel paths (default [16])'),
        device: deviceSchema(ctx),
      }),
    )
      .min(1)
      .optional()
      .describe('the simulated subchannels (default: an FBA disk at 0.0.0100, a console at 0.0.0101)'),
    bind: listOf(busId).optional().describe('the subchannels vfio_ccw binds (default: all)'),
  });
}

export type VfioCcwModuleOptions = z.infer<ReturnType<typeof vfioCcwModuleSchema>>;
export type VfioCcwSubchannelOption = NonNullable<VfioCcwModuleOptions['subchannels']>[number];

/** The machine when `modules.vfio-ccw` names none: one disk, one unit-record device. */
export const VFIO_CCW_DEFAULT_SUBCHANNELS: readonly VfioCcwSubchannelOption[] = Object.freeze([
  { schid: '0.0.0100', devno: '0.0.1234', device: { kind: 'fba-disk', blocks: 2048 } },
  { schid: '0.0.0101', devno: '0.0.0009', device: { kind: 'unit-record' } },
]);
