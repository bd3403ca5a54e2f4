// The matrix mdev's sysfs files (vfio_ap_ops.c vfio_ap_mdev_attrs): assign/unassign of adapters, domains and
// control domains, `matrix`, `guest_matrix`, `control_domains`, `ap_config`. A store on an mdev whose device is
// gone (between remove and the directory's removal) is ENODEV.
import type { Device } from '../../base/device.js';
import type { SysfsAttrTable } from '../../base/sysfs.js';
import { mdevVfioDevice } from '../../mdev/mdev-vfio.js';
import { MdevDevice } from '../../mdev/mdev-objects.js';
import { VfioError } from '../../uapi/errno.js';
import { vfioApMatrixShow } from './matrix.js';
import { ApMatrixMdev, vfioApAssign, vfioApSetConfig, vfioApShowConfig, vfioApUnassign } from './matrix-mdev.js';

function matrixMdevOf(d: Device): ApMatrixMdev {
  const v = d instanceof MdevDevice ? mdevVfioDevice(d) : null;
  if (!(v instanceof ApMatrixMdev)) throw new VfioError('ENODEV', `${d.name} has no vfio_ap device`);
  return v;
}

const store = (fn: (m: ApMatrixMdev, v: string) => void) => ({
  show: (): string => {
    throw new VfioError('EACCES', 'write-only attribute');
  },
  store: (d: Device, v: string): void => fn(matrixMdevOf(d), v),
});

export const vfioApMdevAttrs: SysfsAttrTable<Device> = Object.freeze({
  assign_adapter: store((m, v) => vfioApAssign(m, 'apm', v)),
  unassign_adapter: store((m, v) => vfioApUnassign(m, 'apm', v)),
  assign_domain: store((m, v) => vfioApAssign(m, 'aqm', v)),
  unassign_domain: store((m, v) => vfioApUnassign(m, 'aqm', v)),
  assign_control_domain: store((m, v) => vfioApAssign(m, 'adm', v)),
  unassign_control_domain: store((m, v) => vfioApUnassign(m, 'adm', v)),
  control_domains: {
    show: (d: Device) => {
      const m = matrixMdevOf(d);
      return m.matrix.adm.ids(m.matrix.admMax + 1).map((id) => `${id.toString(16).padStart(4, '0')}\n`).join('');
    },
  },
  matrix: { show: (d: Device) => vfioApMatrixShow(matrixMdevOf(d).matrix) },
  guest_matrix: { show: (d: Device) => vfioApMatrixShow(matrixMdevOf(d).shadow) },
  ap_config: { show: (d: Device) => vfioApShowConfig(matrixMdevOf(d)), store: (d: Device, v: string) => vfioApSetConfig(matrixMdevOf(d), v) },
});
