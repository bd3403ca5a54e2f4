// The config's `machine.fslMc` block (a DPAA2 MC: the root container's objects and child containers, like the
// DPL file restool/the firmware loads) and its build into a live machine on a host.
import { z } from 'zod';
import type { Device } from '../../base/device.js';
import type { Host } from '../../base/host.js';
import type { Logger } from '../../base/log.js';
import { intRange, listOf, strictObjectOf } from '../../base/config-schema.js';
import { FSL_MC_OBJECT_TYPES, fslMcMachineCreate } from './fsl-mc-machine.js';
import type { FslMcContainerSpec, FslMcMachineSpec, FslMcObjectSpec } from './fsl-mc-machine.js';

const objectSchema = strictObjectOf({
  type: z
    .enum(FSL_MC_OBJECT_TYPES, { error: (iss) => `must be one of ${FSL_MC_OBJECT_TYPES.join(', ')}, got ${JSON.stringify(iss.input)}` })
    .describe('the object type: dpni (network interface), dpio (QBMan portal), dpbp (buffer pool), dpcon, dpmcp (MC portal)'),
  id: intRange(0, 65535).describe('the object id (the device is named type.id)'),
  bpid: intRange(0, 16383).optional().describe('dpbp only: its hardware buffer pool id (default the object id)'),
});

export type FslMcContainerConfig = {
  readonly id: number;
  readonly icid?: number | undefined;
  readonly objects?: readonly z.output<typeof objectSchema>[] | undefined;
  readonly containers?: readonly FslMcContainerConfig[] | undefined;
};

const containerSchema: z.ZodType<FslMcContainerConfig> = strictObjectOf({
  id: intRange(1, 65535).describe('the DPRC id (the device is named dprc.<id>)'),
  icid: intRange(0, 65535).optional().describe('its isolation context id (default: the DPRC id)'),
  objects: listOf(objectSchema).optional().describe('the objects in this container'),
  get containers() {
    return listOf(containerSchema).optional().describe('child containers');
  },
});

/** `machine.fslMc`: the MC's root container (dprc.<rootId>) with its objects and child containers. */
export const fslMcConfigSchema = strictObjectOf({
  rootId: intRange(1, 65535).optional().describe('the root DPRC id (default 1)'),
  objects: listOf(objectSchema).optional().describe('objects in the root container'),
  containers: listOf(containerSchema).optional().describe('child containers of the root (what vfio-fsl-mc is given)'),
});

export type FslMcConfig = z.output<typeof fslMcConfigSchema>;

const objectSpec = (o: z.output<typeof objectSchema>): FslMcObjectSpec => ({ type: o.type, id: o.id, ...(o.bpid !== undefined ? { bpid: o.bpid } : {}) });

const containerSpec = (c: FslMcContainerConfig): FslMcContainerSpec => ({
  id: c.id,
  ...(c.icid !== undefined ? { icid: c.icid } : {}),
  objects: (c.objects ?? []).map(objectSpec),
  containers: (c.containers ?? []).map(containerSpec),
});

/** A machine built from a config. */
export interface BuiltFslMcMachine {
  /** The fsl-mc devices on the bus now (dprc.1, its objects, child DPRCs and theirs), parents first. */
  devices(): readonly Device[];
  /** Removes the machine, waiting for every driver's remove. Idempotent. */
  remove(): Promise<void>;
}

/** Builds and probes the MC `config` describes on `host`. */
export function fslMcBuildMachine(host: Host, config: FslMcConfig, logger?: Logger): BuiltFslMcMachine {
  const spec: FslMcMachineSpec = {
    ...(config.rootId !== undefined ? { rootId: config.rootId } : {}),
    objects: (config.objects ?? []).map(objectSpec),
    containers: (config.containers ?? []).map(containerSpec),
  };
  const m = fslMcMachineCreate(host, spec);
  logger?.debug({ devices: m.devices().map((d) => d.name) }, 'fsl-mc: MC probed');
  return { devices: () => m.devices(), remove: () => m.destroy() };
}
