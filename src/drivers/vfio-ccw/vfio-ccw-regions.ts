// The I/O region and the capability regions registered at open (vfio_ccw_ops.c io region, vfio_ccw_async.c
// async command region, vfio_ccw_chp.c SCHIB and CRW regions): bounds, the io_mutex trylock (EAGAIN), the FSM
// event a write raises, and the ret_code it returns.
import { signalEventfd } from '../../emu/irq-triggers.js';
import { cioUpdateSchib } from '../../hw/css/subchannel.js';
import { VfioError, check } from '../../uapi/errno.js';
import { CCW_CRW_REGION_SIZE, CCW_IO_REGION_RET_CODE, CCW_IO_REGION_SIZE, VFIO_CCW_OFFSET_MASK, ccwRetCodeError, encodeCcwCrwRegion } from '../../uapi/ccw.js';
import { VFIO_REGION_INFO_FLAG_READ, VFIO_REGION_INFO_FLAG_WRITE } from '../../uapi/region-info.js';
import { VFIO_REGION_SUBTYPE_CCW_ASYNC_CMD, VFIO_REGION_SUBTYPE_CCW_CRW, VFIO_REGION_SUBTYPE_CCW_SCHIB, VFIO_REGION_TYPE_CCW } from '../../uapi/region-caps.js';
import { encodeSchib } from '../../uapi/s390-cio.js';
import { vfioCcwFsmEvent } from './vfio-ccw-fsm.js';
import type { VfioCcwEvent } from './vfio-ccw-fsm.js';
import type { VfioCcwPrivate, VfioCcwRegion } from './vfio-ccw-private.js';

function inRegion(pos: number, len: number, size: number): number {
  const off = pos & VFIO_CCW_OFFSET_MASK;
  check(off + len <= size, 'EINVAL', `[${off}, +${len}) past the region's ${size} bytes`);
  return off;
}

/** A region write under io_mutex: copy in, raise `event`, answer its ret_code (at `retAt` in `data`). */
function writeAndRun(priv: VfioCcwPrivate, data: Uint8Array, buf: Uint8Array, pos: number, event: VfioCcwEvent, retAt: number): number {
  const off = inRegion(pos, buf.length, data.length);
  if (priv.ioBusy) throw new VfioError('EAGAIN', 'io_mutex is held');
  priv.ioBusy = true;
  try {
    data.set(buf, off);
    vfioCcwFsmEvent(priv, event);
    const ret = new DataView(data.buffer, data.byteOffset).getInt32(retAt, true);
    if (ret !== 0) throw ccwRetCodeError(ret, event === 'IO_REQ' ? 'I/O request' : 'async request');
    return buf.length;
  } finally {
    priv.ioBusy = false;
  }
}

/** vfio_ccw_mdev_read_io_region(). */
export function ioRegionRead(priv: VfioCcwPrivate, buf: Uint8Array, pos: number): number {
  const off = inRegion(pos, buf.length, CCW_IO_REGION_SIZE);
  buf.set(priv.ioRegion.subarray(off, off + buf.length));
  return buf.length;
}

/** vfio_ccw_mdev_write_io_region(): an IO_REQ; the ret_code is the write's errno. */
export function ioRegionWrite(priv: VfioCcwPrivate, buf: Uint8Array, pos: number): number {
  return writeAndRun(priv, priv.ioRegion, buf, pos, 'IO_REQ', CCW_IO_REGION_RET_CODE);
}

const R = VFIO_REGION_INFO_FLAG_READ;
const W = VFIO_REGION_INFO_FLAG_WRITE;

/** vfio_ccw_register_async_dev_regions(): HSCH/CSCH through ccw_cmd_region. */
function asyncRegion(priv: VfioCcwPrivate): VfioCcwRegion {
  return {
    type: VFIO_REGION_TYPE_CCW,
    subtype: VFIO_REGION_SUBTYPE_CCW_ASYNC_CMD,
    size: priv.cmdRegion.length,
    flags: R | W,
    data: priv.cmdRegion,
    read: (p, buf, pos) => {
      const off = inRegion(pos, buf.length, p.cmdRegion.length);
      buf.set(p.cmdRegion.subarray(off, off + buf.length));
      return buf.length;
    },
    write: (p, buf, pos) => writeAndRun(p, p.cmdRegion, buf, pos, 'ASYNC_REQ', 4),
  };
}

/** vfio_ccw_register_schib_dev_regions(): a fresh STORE SUBCHANNEL on every read (ENODEV once the device is gone). */
function schibRegion(priv: VfioCcwPrivate): VfioCcwRegion {
  return {
    type: VFIO_REGION_TYPE_CCW,
    subtype: VFIO_REGION_SUBTYPE_CCW_SCHIB,
    size: priv.schibRegion.length,
    flags: R,
    data: priv.schibRegion,
    read: (p, buf, pos) => {
      const off = inRegion(pos, buf.length, p.schibRegion.length);
      cioUpdateSchib(p.sch);
      encodeSchib(p.sch.schib, p.schibRegion);
      buf.set(p.schibRegion.subarray(off, off + buf.length));
      return buf.length;
    },
    write: () => {
      throw new VfioError('EINVAL', 'the SCHIB region is read-only');
    },
  };
}

/** vfio_ccw_register_crw_dev_regions(): each read takes the oldest queued CRW (0: none); more left re-signal. */
function crwRegion(priv: VfioCcwPrivate): VfioCcwRegion {
  return {
    type: VFIO_REGION_TYPE_CCW,
    subtype: VFIO_REGION_SUBTYPE_CCW_CRW,
    size: CCW_CRW_REGION_SIZE,
    flags: R,
    data: priv.crwRegion,
    read: (p, buf, pos) => {
      const off = inRegion(pos, buf.length, p.crwRegion.length);
      const crw = p.crws.shift();
      if (crw !== undefined) encodeCcwCrwRegion({ crw }, p.crwRegion);
      buf.set(p.crwRegion.subarray(off, off + buf.length));
      encodeCcwCrwRegion({ crw: 0 }, p.crwRegion);
      if (p.crws.length > 0) signalEventfd(p.crwTrigger);
      return buf.length;
    },
    write: () => {
      throw new VfioError('EINVAL', 'the CRW region is read-only');
    },
  };
}

/** The three capability regions of an open device, in the kernel's registration order. */
export function vfioCcwRegisterDevRegions(priv: VfioCcwPrivate): void {
  priv.regions = [asyncRegion(priv), schibRegion(priv), crwRegion(priv)];
}

/** vfio_ccw_unregister_dev_regions(). */
export function vfioCcwUnregisterDevRegions(priv: VfioCcwPrivate): void {
  priv.regions = [];
}
