// vfio-ap's config: the module's options (`modules.vfio-ap`: the machine it simulates and the ap bus masks, as
// the ap.apmask=/ap.aqmask= kernel parameters) and a device entry's keys (what to assign to the new mdev).
import { z } from 'zod';
import type { DriverConfigKeys } from '../descriptor.js';

const id = z.int().min(0).max(255);

export const VFIO_AP_DEFAULT_CARDS: readonly number[] = Object.freeze([4, 5]);
export const VFIO_AP_DEFAULT_DOMAINS: readonly number[] = Object.freeze([6, 7, 71]);
/** By default card 5's queues are not the host's, so vfio_ap has 05.0006, 05.0007 and 05.0047. */
export const VFIO_AP_DEFAULT_APMASK = '-5';

export const vfioApModuleOptions = z.strictObject({
  cards: z.array(id).max(256).optional().describe('installed crypto adapters (default [4, 5])'),
  domains: z.array(id).max(256).optional().describe('usage domains of every adapter (default [6, 7, 71])'),
  apmask: z.string().max(200).optional().describe('ap.apmask: adapters the host keeps, "0x..." or "+N,-M" applied to all-ones (default "-5")'),
  aqmask: z.string().max(200).optional().describe('ap.aqmask: domains the host keeps, same forms (default all)'),
});
export type VfioApModuleOptions = z.infer<typeof vfioApModuleOptions>;

/** What a new matrix mdev is assigned at create, as writes to its assign_* files would. */
export const vfioApParamsSchema = z.strictObject({
  adapters: z.array(id).max(256).optional(),
  domains: z.array(id).max(256).optional(),
  controlDomains: z.array(id).max(256).optional(),
});
export type VfioApParams = z.infer<typeof vfioApParamsSchema>;

export const vfioApConfigKeys: DriverConfigKeys = Object.freeze({
  shape: () => ({
    adapters: vfioApParamsSchema.shape.adapters.describe('adapters to assign (assign_adapter)'),
    domains: vfioApParamsSchema.shape.domains.describe('usage domains to assign (assign_domain)'),
    controlDomains: vfioApParamsSchema.shape.controlDomains.describe('control domains to assign (assign_control_domain)'),
  }),
});
