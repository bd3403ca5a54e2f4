// Test support for the fsl-mc machine: a standard DPAA2 layout (the root DPRC with a dpmcp and a child DPRC holding
// one of each object), and an MC I/O object over any object's portal for sending commands as software does.
import type { Host } from '../../base/host.js';
import { mcEncodeCmd, mcParams } from './mc-cmd.js';
import type { McRegionHw } from './mc-objects.js';
import { fslCreateMcIo, mcSendCommand } from './mc-sys.js';
import type { FslMcIo } from './mc-sys.js';
import { fslMcMachineCreate } from './fsl-mc-machine.js';
import type { FslMcMachine, FslMcMachineSpec } from './fsl-mc-machine.js';

/** dprc.1 { dpmcp.1, dprc.2 { dpni.0, dpio.0, dpbp.0, dpcon.0, dpmcp.2 } }. */
export const STANDARD_LAYOUT: FslMcMachineSpec = {
  rootId: 1,
  objects: [{ type: 'dpmcp', id: 1 }],
  containers: [
    {
      id: 2,
      icid: 20,
      objects: [
        { type: 'dpni', id: 0 },
        { type: 'dpio', id: 0 },
        { type: 'dpbp', id: 0, bpid: 7 },
        { type: 'dpcon', id: 0 },
        { type: 'dpmcp', id: 2 },
      ],
    },
  ],
};

export function standardMachine(host: Host): FslMcMachine {
  return fslMcMachineCreate(host, STANDARD_LAYOUT);
}

/** An MC I/O object over region 0 of the MC object `name` (a dpmcp's or a DPRC's portal). */
export function portalOf(m: FslMcMachine, name: string): FslMcIo {
  const obj = m.object(name);
  // The root DPRC's portal is not one of its regions: firmware hands it over (the device tree).
  const r: McRegionHw | undefined = obj === m.mc.root ? m.mc.rootPortal : obj?.regions[0];
  if (r === undefined) throw new Error(`${name} has no portal`);
  return fslCreateMcIo(m.platformDevice, r, r.baseAddress + BigInt(r.baseOffset));
}

/** Sends command `cmdId` with `token`, params filled by `fill`; returns the response params and token. */
export function mcCall(io: FslMcIo, cmdId: number, token: number, fill?: (p: DataView) => void): { p: DataView; token: number } {
  const cmd = mcEncodeCmd(cmdId, token);
  const p = mcParams(cmd);
  fill?.(p);
  mcSendCommand(io, cmd);
  return { p, token: new DataView(cmd.buffer).getUint16(4, true) };
}
