// Sending MC commands (drivers/bus/fsl-mc/mc-sys.c, mc-io.c): an MC I/O object over a portal window, and
// mc_send_command(): parameters first, then the header, then the response read back (header status, params).
import type { Device } from '../../base/device.js';
import { VfioError } from '../../uapi/errno.js';
import { MC_CMD_NUM_OF_PARAMS, MC_CMD_SIZE, MC_CMD_STATUS_OK, MC_CMD_STATUS_READY, mcReadHeader, mcStatusError } from './mc-cmd.js';
import type { McRegionHw } from './mc-objects.js';

/** struct fsl_mc_io: the portal a device sends its commands through. */
export interface FslMcIo {
  readonly dev: Device;
  readonly portal: McRegionHw;
  readonly portalPhysAddr: bigint;
}

/** fsl_create_mc_io() over a portal window found by its address (ioremap). */
export function fslCreateMcIo(dev: Device, portal: McRegionHw, portalPhysAddr: bigint): FslMcIo {
  if (portal.size < MC_CMD_SIZE) throw new VfioError('EINVAL', `portal at 0x${portalPhysAddr.toString(16)} is ${portal.size} bytes`);
  return { dev, portal, portalPhysAddr };
}

/**
 * mc_send_command(): writes `cmd` (64 bytes, header first) into the portal as mc_write_command does, then reads
 * the response into `cmd`. The simulated MC finishes a command before the header store returns, so a status still
 * READY is what a real wait would end in: ETIMEDOUT. A failed status throws its errno (mc_status_to_error).
 */
export function mcSendCommand(mcIo: FslMcIo, cmd: Uint8Array): void {
  if (cmd.length !== MC_CMD_SIZE) throw new VfioError('EINVAL', `an MC command is ${MC_CMD_SIZE} bytes`);
  for (let i = 1; i <= MC_CMD_NUM_OF_PARAMS; i++) mcIo.portal.write(i * 8, cmd.subarray(i * 8, i * 8 + 8));
  mcIo.portal.write(0, cmd.subarray(0, 8));
  mcIo.portal.read(0, cmd.subarray(0, 8));
  const { status, cmdId, token } = mcReadHeader(cmd);
  if (status === MC_CMD_STATUS_READY) throw new VfioError('ETIMEDOUT', `MC command 0x${cmdId.toString(16)} timed out`);
  if (status !== MC_CMD_STATUS_OK) throw mcStatusError(status, `MC command 0x${cmdId.toString(16)} (token 0x${token.toString(16)})`);
  mcIo.portal.read(8, cmd.subarray(8));
}
