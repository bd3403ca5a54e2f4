// The vfio-ccw driver's public surface: its registry descriptor, module init, the private structure, its ops
// and FSM, the channel-program translation, and the module options.
import type { Host } from '../../base/host.js';
import type { ConfigContext, DriverParams, VfioDriverDescriptor } from '../descriptor.js';
import { parseParams } from '../params.js';
import { vfioCcwRegister } from './vfio-ccw-drv.js';
import { vfioCcwModuleSchema } from './vfio-ccw-options.js';

export { vfioCcwRegister, vfioCcwCssDriver, vfioCcwMdevDriver, vfioCcwPrivateOf, VFIO_CCW_CSS_DRIVER } from './vfio-ccw-drv.js';
export type { VfioCcwModule } from './vfio-ccw-drv.js';
export { VfioCcwPrivate, vfioCcwAllocPrivate } from './vfio-ccw-private.js';
export type { VfioCcwState } from './vfio-ccw-private.js';
export { vfioCcwOps } from './vfio-ccw-ops.js';
export { vfioCcwFsmEvent, VFIO_CCW_ISC } from './vfio-ccw-fsm.js';
export type { VfioCcwEvent } from './vfio-ccw-fsm.js';
export { ChannelProgram, CCWCHAIN_LEN_MAX } from './vfio-ccw-cp.js';
export { vfioCcwModuleSchema, VFIO_CCW_DEFAULT_SUBCHANNELS } from './vfio-ccw-options.js';
export type { VfioCcwModuleOptions } from './vfio-ccw-options.js';

/** The registry's entry for vfio-ccw. */
export const driver: VfioDriverDescriptor = Object.freeze({
  name: 'vfio-ccw',
  bus: 'mdev',
  summary: 'vfio-ccw on a simulated channel subsystem: an FBA disk and a console behind I/O subchannels (drivers/s390/cio/vfio_ccw_*.c)',
  guestHint: 'vfio-ccw is an s390 device: QEMU attaches it with -device vfio-ccw on an s390x machine; vfio-user-pci cannot carry it',
  module: { shape: (ctx: ConfigContext) => vfioCcwModuleSchema(ctx).shape },
  register: (host: Host, options: DriverParams) => vfioCcwRegister(host, parseParams(vfioCcwModuleSchema({ baseDir: process.cwd() }), options, 'vfio-ccw module')),
});
