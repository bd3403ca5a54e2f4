// Test support for vfio-platform and vfio-amba: a simulated SoC (an XGMAC, an XGBE and an SRAM on the platform bus,
// a PL011 and a PL061 on the AMBA bus), both modules loaded, devices bound through driver_override + bind as a user
// does, a VfioProcess to open them, and a cleanup that removes everything and checks for leaks.
import { Host } from '../../base/host.js';
import { AmbaDevice, ambaDeviceAdd, ambaDeviceUnregister } from '../../hw/amba/amba-bus.js';
import { Pl011 } from '../../hw/amba/pl011.js';
import { Pl061 } from '../../hw/amba/pl061.js';
import { AmdXgbe } from '../../hw/platform/amd-xgbe.js';
import { CalxedaXgmac } from '../../hw/platform/calxeda-xgmac.js';
import { MmioSram } from '../../hw/platform/mmio-sram.js';
import { PlatformDevice } from '../../hw/platform/platform-bus.js';
import { platformDeviceRegister, platformDeviceUnregister } from '../../hw/platform/platform-device.js';
import { EFD_NONBLOCK, close, eventfd } from '../../native/index.js';
import { sanitizer } from '../../sanitizer/sanitizer.js';
import { ArrayBufferBacking } from '../../vfio/dma-space.js';
import { VfioProcess } from '../../vfio/vfio-process.js';
import type { VfioPlatformDevice } from '../vfio-platform-common/private.js';
import { vfioPlatformIndexToOffset } from '../vfio-platform-common/private.js';
import { vfioAmbaDeviceOf, vfioAmbaRegister } from '../vfio-amba/vfio-amba.js';
import type { VfioAmbaModule } from '../vfio-amba/vfio-amba.js';
import { vfioPlatformDeviceOf, vfioPlatformRegister } from './vfio-platform.js';
import type { VfioPlatformModule } from './vfio-platform.js';

export const XGMAC = 'fff50000.ethernet';
export const XGBE = 'e0700000.xgbe';
export const SRAM = '10000000.sram';
export const PL011 = '9000000.pl011';
export const PL061 = '9030000.pl061';

export interface SocBed {
  readonly host: Host;
  readonly proc: VfioProcess;
  readonly xgmac: CalxedaXgmac;
  readonly xgbe: AmdXgbe;
  readonly uart: Pl011;
  readonly gpio: Pl061;
  readonly platform: VfioPlatformModule;
  readonly amba: VfioAmbaModule;
  /** driver_override + bind on `bus`, as `echo vfio-platform > driver_override; echo NAME > bind`. */
  bind(bus: 'platform' | 'amba', name: string): VfioPlatformDevice;
  /** An eventfd closed with the bed. */
  eventfd(): number;
  done(): Promise<void>;
}

export function socBed(opts: { resetRequired?: boolean } = {}): SocBed {
  const mark = sanitizer.mark();
  const host = new Host();
  const xgmac = new CalxedaXgmac();
  const xgbe = new AmdXgbe();
  const sram = new MmioSram(0x2000);
  const uart = new Pl011();
  const gpio = new Pl061();
  const pdevs: PlatformDevice[] = [
    platformDeviceRegister(host, { name: 'ethernet', compatible: ['calxeda,hb-xgmac'], reg: [{ base: 0xfff50000, size: 0x1000 }], interrupts: [{ line: 77, trigger: 'level' }] }, xgmac),
    platformDeviceRegister(
      host,
      { name: 'xgbe', compatible: ['amd,xgbe-seattle-v1a'], reg: [{ base: 0xe0700000, size: 0x10000 }, { base: 0xe0780000, size: 0x1000 }], interrupts: [{ line: 325, trigger: 'level' }, { line: 323, trigger: 'level' }] },
      xgbe,
    ),
    platformDeviceRegister(host, { name: 'sram', compatible: ['mmio-sram'], reg: [{ base: 0x10000000, size: 0x2000 }], interrupts: [] }, sram),
  ];
  const adevs: AmbaDevice[] = [
    ambaDeviceAdd(host, { name: 'pl011', compatible: ['arm,pl011', 'arm,primecell'], reg: [{ base: 0x9000000, size: 0x1000 }], interrupts: [{ line: 33, trigger: 'level' }] }, uart),
    ambaDeviceAdd(host, { name: 'pl061', compatible: ['arm,pl061', 'arm,primecell'], reg: [{ base: 0x9030000, size: 0x1000 }], interrupts: [{ line: 39, trigger: 'edge' }] }, gpio),
  ];
  const platform = vfioPlatformRegister(host, { requestIntervalMs: 5, ...(opts.resetRequired !== undefined ? { resetRequired: opts.resetRequired } : {}) });
  const amba = vfioAmbaRegister(host, { requestIntervalMs: 5 });
  const proc = new VfioProcess(host);
  proc.mm.map(0x10000000n, new ArrayBufferBacking(1 << 16));
  const fds: number[] = [];
  return {
    host,
    proc,
    xgmac,
    xgbe,
    uart,
    gpio,
    platform,
    amba,
    bind(bus, name) {
      const driverName = bus === 'platform' ? 'vfio-platform' : 'vfio-amba';
      host.sysfs.write(`/sys/bus/${bus}/devices/${name}/driver_override`, driverName);
      host.sysfs.write(`/sys/bus/${bus}/drivers/${driverName}/bind`, name);
      const dev = host.buses.get(bus)?.find(name);
      const out = dev instanceof AmbaDevice ? vfioAmbaDeviceOf(dev) : dev instanceof PlatformDevice ? vfioPlatformDeviceOf(dev) : null;
      if (out === null) throw new Error(`${name} did not bind to ${driverName}`);
      return out;
    },
    eventfd() {
      const fd = eventfd(0, EFD_NONBLOCK);
      fds.push(fd);
      return fd;
    },
    async done() {
      proc.closeAll();
      await platform.unregister();
      await amba.unregister();
      for (const p of pdevs) await platformDeviceUnregister(p);
      for (const a of adevs) await ambaDeviceUnregister(a);
      for (const hw of [sram]) hw.close();
      for (const fd of fds) close(fd);
      sanitizer.assertNoLeaks(mark);
    },
  };
}

/** pread of a 32-bit register of region `index`, little-endian. */
export function rd32(proc: VfioProcess, fd: number, index: number, offset: number): number {
  const b = new Uint8Array(4);
  proc.pread(fd, b, vfioPlatformIndexToOffset(index) + offset);
  return new DataView(b.buffer).getUint32(0, true);
}

/** pwrite of a 32-bit register of region `index`. */
export function wr32(proc: VfioProcess, fd: number, index: number, offset: number, value: number): void {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, value >>> 0, true);
  proc.pwrite(fd, b, vfioPlatformIndexToOffset(index) + offset);
}
