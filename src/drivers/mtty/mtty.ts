// The mtty mdev sample on the new life cycle: a virtual PCI serial card with one or two 16550A UARTs in I/O BARs,
// INTx and MSI, a shared port budget and migration v2 (samples/vfio-mdev/mtty.c).
import { hostOf } from '../../base/device.js';
import type { Logger } from '../../base/log.js';
import { VfioError, check } from '../../uapi/errno.js';
import { VFIO_MIGRATION_P2P, VFIO_MIGRATION_PRE_COPY, VFIO_MIGRATION_STOP_COPY } from '../../uapi/migration.js';
import { VFIO_REGION_INFO_FLAG_READ, VFIO_REGION_INFO_FLAG_WRITE } from '../../uapi/region-info.js';
import { allocDevice, putVfioDevice } from '../../vfio/vfio-device.js';
import { registerEmulatedIommuDev, unregisterGroupDev } from '../../vfio/registration.js';
import type { UnregisterOptions } from '../../vfio/registration.js';
import type { VfioDeviceOps } from '../../vfio/vfio-ops.js';
import { VfioPciEmuDevice, pciEmuInit, pciEmuSetRegion } from '../../emu/pci-emu-device.js';
import { pciEmuCloseDevice, pciEmuOps } from '../../emu/pci-emu-ops.js';
import { pciEmuMigrationInit, pciEmuMigrationOps } from '../../emu/migration-arcs.js';
import { createChardev } from '../../hw/chardev.js';
import type { Chardev } from '../../hw/chardev.js';
import { MdevDevice } from '../../mdev/mdev-objects.js';
import { parseParams } from '../params.js';
import { mttyParamsSchema } from './mtty-params.js';
import { mttyPciSetup, MTTY_IO_BAR_SIZE } from './mtty-config.js';
import { mttyPutPorts, mttyTakePorts, mttyType } from './mtty-types.js';
import { Uart16550 } from '../../hw/uart16550.js';

/** The version of mtty's migration record. */
export const MTTY_STATE_VERSION = 1;

/** An mtty device: the driver state IS the VFIO device. */
export class MttyState extends VfioPciEmuDevice {
  nrPorts = 0;
  ports: Uart16550[] = [];
  backends: Chardev[] = [];

  /** updateIrq() of the card: the line is the OR of the ports' lines. */
  updateIrq(): void {
    this.setIrqLevel(this.ports.some((p) => p.irq));
  }
}

/** mtty_init_dev(): the type (mdev->type) and port backends (the mdev's params) come from the mdev it drives. */
function mttyInit(dev: MttyState): void {
  const mdev = dev.dev;
  if (!(mdev instanceof MdevDevice)) throw new VfioError('EINVAL', 'an mtty drives an mdev');
  const type = mttyType(mdev.type.sysfsName);
  const params = parseParams(mttyParamsSchema, mdev.params, 'mtty');
  const host = hostOf(mdev);
  const n = type.nrPorts;
  mttyTakePorts(host, n);
  const undo: (() => void)[] = [() => mttyPutPorts(host, n)];
  try {
    dev.nrPorts = n;
    pciEmuInit(dev, mttyPciSetup(n, () => resetPorts(dev)));
    for (let i = 0; i < n; i++) {
      const uart = new Uart16550({ onIrq: () => dev.updateIrq() });
      dev.ports.push(uart);
      pciEmuSetRegion(dev, i, {
        size: MTTY_IO_BAR_SIZE,
        flags: VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE,
        // Each byte of an access is one register access, in ascending order.
        read: (offset, buf) => {
          for (let b = 0; b < buf.length; b++) buf[b] = uart.read(offset + b);
        },
        write: (offset, buf) => {
          for (let b = 0; b < buf.length; b++) uart.write(offset + b, buf[b] ?? 0);
        },
      });
    }
    const log: Logger = host.logger;
    for (let i = 0; i < n; i++) {
      const backend = createChardev(params.ports?.[i] ?? { kind: 'loopback' }, log);
      dev.backends.push(backend);
      undo.push(() => backend.close());
      const uart = dev.ports[i];
      if (uart === undefined) throw new Error('mtty: port missing');
      uart.setBackend(backend.uart);
      backend.attach((bytes) => uart.receive(bytes));
    }
    pciEmuMigrationInit(dev, {
      device: `mtty-${n}`,
      version: MTTY_STATE_VERSION,
      flags: VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P | VFIO_MIGRATION_PRE_COPY,
      save: () => ({ nrPorts: dev.nrPorts, ports: dev.ports.map((p) => p.save()) }),
      load: (state) => loadPorts(dev, state),
    });
  } catch (err) {
    for (const u of undo.reverse()) u();
    throw err;
  }
}

/** Validates every port record first (into scratch UARTs), then applies them: a bad stream changes nothing. */
function loadPorts(dev: MttyState, state: unknown): void {
  check(typeof state === 'object' && state !== null, 'EINVAL', 'mtty state is not an object');
  const fields = new Map<string, unknown>(Object.entries(state));
  check(fields.get('nrPorts') === dev.nrPorts, 'EINVAL', `mtty state has ${String(fields.get('nrPorts'))} ports, device has ${dev.nrPorts}`);
  const records = fields.get('ports');
  check(Array.isArray(records) && records.length === dev.nrPorts, 'EINVAL', 'mtty state ports');
  for (const r of records) Uart16550.load(r);
  records.forEach((r: unknown, i) => dev.ports[i]?.restore(r));
  dev.updateIrq();
}

function resetPorts(dev: MttyState): void {
  for (const p of dev.ports) p.reset();
  dev.updateIrq();
}

/** Release: stop the ports and close the backends, then give the ports back as the very last step (no use of dev after). */
function mttyRelease(dev: MttyState): void {
  const host = hostOf(dev);
  const n = dev.nrPorts;
  const backends = dev.backends;
  for (const p of dev.ports) {
    p.setIrqHandler(undefined);
    p.setBackend(undefined);
  }
  for (const b of backends) b.close();
  mttyPutPorts(host, n);
}

export const mttyOps: VfioDeviceOps<MttyState> = Object.freeze({
  ...pciEmuOps,
  ...pciEmuMigrationOps,
  name: 'vfio-mtty',
  init: mttyInit,
  release: mttyRelease,
  // No open_device, as mtty.c: the card keeps its state (UART registers, FIFOs, config space) from one user to
  // the next; it comes up from power-on at create and on VFIO_DEVICE_RESET (which a VMM issues at start).
  /** Last close: IRQ triggers and migration streams dropped (mtty_close). */
  closeDevice: (dev: MttyState) => pciEmuCloseDevice(dev),
});

/**
 * mtty_probe: allocates the mtty for `mdev` (its type says how many ports, its params which backends) and
 * registers it (an emulated-IOMMU device). ENOSPC when the host's port budget is short. Remove with mttyRemove.
 */
export function mttyCreate(mdev: MdevDevice): MttyState {
  const dev = allocDevice(MttyState, mdev, mttyOps);
  try {
    registerEmulatedIommuDev(dev);
  } catch (err) {
    putVfioDevice(dev);
    throw err;
  }
  return dev;
}

/** mtty_remove: unregister (waits for users, asking through the REQ eventfd), then the last put releases it. */
export async function mttyRemove(dev: MttyState, opts: UnregisterOptions = {}): Promise<void> {
  await unregisterGroupDev(dev, opts);
  putVfioDevice(dev);
}
