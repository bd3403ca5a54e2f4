// A PCI hierarchy as the serve config writes it (JSON: bridges and functions naming their hardware model) and its
// build into a PciRootSpec with live models, like QEMU's `-device <model>,bus=...,addr=...` list. The host ends
// of the models' lines (a serial card's chardev) are opened here and closed by the returned handle.
import { z } from 'zod';
import type { Logger } from '../../base/log.js';
import { intRange, listOf, strictObjectOf } from '../../base/config-schema.js';
import { PORT_FORMS, chardevConfigSchema, createChardev } from '../chardev.js';
import type { Chardev } from '../chardev.js';
import { PcieDmaEngine } from './dma-engine.js';
import { PciSerialCard } from './serial-card.js';
import { StdVga } from './std-vga.js';
import { SriovDmaPf } from './sriov-dma-pf.js';
import { Mlx5Pf } from '../mlx5/pf.js';
import { HisiAccPf } from '../hisi-qm/hisi-acc-pf.js';
import type { PciFunction } from './pci-function.js';
import type { PciNodeSpec, PciRootSpec } from './topology.js';

const place = {
  device: intRange(0, 31).describe('device (slot) number on its bus'),
  function: intRange(0, 7).optional().describe('function number (default 0); several in one slot make it multifunction'),
};

const MODELS = ['pci-serial', 'dma-engine', 'sriov-dma-pf', 'mlx5-pf', 'hisi-acc-pf', 'std-vga'] as const;
const BRIDGES = ['root-port', 'upstream', 'downstream', 'pcie-to-pci', 'pci-bridge'] as const;
const modelError = (iss: { input?: unknown }): string => `unknown model ${JSON.stringify(iss.input)} (one of ${MODELS.join(', ')})`;

/** The hardware models a config may place, each with its options. */
function modelSchemas(baseDir: string) {
  return [
    strictObjectOf({
      ...place,
      model: z.literal('pci-serial', { error: modelError }).describe("QEMU's pci-serial 1b36:0002: one 16550A UART in an I/O BAR"),
      port: chardevConfigSchema(baseDir).optional().describe(`the UART's host end: ${PORT_FORMS} (default loopback)`),
    }),
    strictObjectOf({
      ...place,
      model: z.literal('std-vga', { error: modelError }).describe("QEMU's standard VGA 1234:1111: VRAM in BAR0 (mmappable), bochs dispi MMIO in BAR2, an option ROM, legacy VGA ranges"),
      vramMb: z.union([z.literal(1), z.literal(2), z.literal(4), z.literal(8), z.literal(16), z.literal(32), z.literal(64)]).optional().describe('VRAM in MiB (default 16)'),
    }),
    strictObjectOf({
      ...place,
      model: z.literal('dma-engine', { error: modelError }).describe('a PCIe function with MSI-X, FLR, PM and a copy/fill DMA engine'),
      flr: z.boolean().optional().describe('advertise FLR (default true)'),
    }),
    strictObjectOf({
      ...place,
      model: z.literal('sriov-dma-pf', { error: modelError }).describe('an SR-IOV PF whose VFs are DMA engines'),
      totalVfs: intRange(1, 64).optional().describe('TotalVFs (default 4)'),
      numVfs: intRange(0, 64).optional().describe('VFs enabled at start (sriov_numvfs, through pci-pf-stub; default 0)'),
    }),
    strictObjectOf({
      ...place,
      model: z.literal('mlx5-pf', { error: modelError }).describe('a ConnectX-like PF (15b3:101d) whose VFs (15b3:101e) run work queues and migrate (mlx5-vfio-pci)'),
      totalVfs: intRange(1, 64).optional().describe('TotalVFs (default 4)'),
      numVfs: intRange(0, 64).optional().describe('VFs enabled at start (sriov_numvfs, through pci-pf-stub; default 0)'),
      chunks: z.boolean().optional().describe('firmware saves VF state in chunks (migration_in_chunks; default false)'),
    }),
    strictObjectOf({
      ...place,
      model: z.literal('hisi-acc-pf', { error: modelError }).describe('a HiSilicon accelerator PF (ZIP 19e5:a250, SEC a255, HPRE a258) whose VFs have queue managers and migrate (hisi-acc-vfio-pci)'),
      kind: z.enum(['zip', 'sec', 'hpre'], { error: (iss) => `must be zip, sec or hpre, got ${JSON.stringify(iss.input)}` }).describe('the accelerator'),
      totalVfs: intRange(1, 63).optional().describe('TotalVFs (default 4)'),
      numVfs: intRange(0, 63).optional().describe("VFs enabled at start (sriov_numvfs through the PF's driver, hisi_zip/hisi_sec2/hisi_hpre once loaded; default 0)"),
    }),
  ] as const;
}

type ModelEntry = z.output<ReturnType<typeof modelSchemas>[number]>;

export type PciNodeConfig =
  | ModelEntry
  | {
      readonly device: number;
      readonly function?: number | undefined;
      readonly bridge: 'root-port' | 'upstream' | 'downstream' | 'pcie-to-pci' | 'pci-bridge';
      readonly acs?: boolean | undefined;
      readonly slot?: { readonly number: number; readonly hotplug?: boolean | undefined } | undefined;
      readonly below?: readonly PciNodeConfig[] | undefined;
    };

/** One node: a bridge (with what sits below it) or a function with its model. Built once: `below` refers back to it. */
function nodeSchema(baseDir: string): z.ZodType<PciNodeConfig> {
  const [first, ...rest] = modelSchemas(baseDir);
  const node: z.ZodType<PciNodeConfig> = z.union(
    [
      strictObjectOf({
        ...place,
        bridge: z.enum(BRIDGES, { error: (iss) => `must be one of ${BRIDGES.join(', ')}, got ${JSON.stringify(iss.input)}` }).describe('the kind of bridge'),
        acs: z.boolean().optional().describe('Access Control Services (isolates what is below into its own IOMMU groups)'),
        slot: strictObjectOf({ number: intRange(0, 8191), hotplug: z.boolean().optional() }).optional().describe('a slot below this port'),
        get below() {
          return listOf(node).optional().describe('what sits on the secondary bus');
        },
      }),
      first,
      ...rest,
    ],
    { error: () => `a node is a bridge ({"device", "bridge", "below"}) or a function ({"device", "model": one of ${MODELS.join(', ')}})` },
  );
  return node;
}

/** One host bridge: a domain, its root bus number and what sits on the root bus. */
export function pciRootConfigSchema(baseDir: string) {
  return strictObjectOf({
    domain: intRange(0, 0xffff).optional().describe('PCI domain (default 0)'),
    bus: intRange(0, 255).optional().describe('root bus number (default 0)'),
    devices: listOf(nodeSchema(baseDir)).describe('the root bus: functions and bridges'),
  });
}

export type PciRootConfig = z.output<ReturnType<typeof pciRootConfigSchema>>;

/** Hardware built from a config: the spec to scan, and the close of the host ends its models opened. */
export interface BuiltPciMachine {
  readonly spec: PciRootSpec;
  /** SR-IOV PFs whose config asks for VFs at start (sriov_numvfs once the machine is scanned). */
  readonly vfsAtStart: readonly { readonly hw: PciFunction; readonly numVfs: number }[];
  /** Closes every chardev the models were given and the std-vga cards' VRAM. Idempotent. */
  close(): void;
}

/** Builds the models `root` names (a failure closes what was opened). */
export function pciBuildFromConfig(root: PciRootConfig, log: Logger): BuiltPciMachine {
  const chardevs: Chardev[] = [];
  const vgas: StdVga[] = [];
  const vfsAtStart: { hw: PciFunction; numVfs: number }[] = [];
  const close = (): void => {
    for (const c of chardevs.splice(0)) c.close();
    for (const v of vgas.splice(0)) v.close();
  };
  const model = (n: ModelEntry): PciFunction => {
    switch (n.model) {
      case 'pci-serial': {
        const c = createChardev(n.port ?? { kind: 'loopback' }, log);
        chardevs.push(c);
        const card = new PciSerialCard(c.uart === undefined ? {} : { backend: c.uart });
        c.attach((bytes) => card.uart.receive(bytes));
        return card;
      }
      case 'std-vga': {
        const vga = new StdVga(n.vramMb === undefined ? {} : { vramSize: n.vramMb << 20 });
        vgas.push(vga);
        return vga;
      }
      case 'dma-engine':
        return new PcieDmaEngine(n.flr === undefined ? {} : { flr: n.flr });
      case 'sriov-dma-pf':
        return new SriovDmaPf(n.totalVfs === undefined ? {} : { totalVfs: n.totalVfs });
      case 'hisi-acc-pf':
        return new HisiAccPf({ kind: n.kind, ...(n.totalVfs !== undefined ? { totalVfs: n.totalVfs } : {}) });
      case 'mlx5-pf':
        return new Mlx5Pf({
          ...(n.totalVfs !== undefined ? { totalVfs: n.totalVfs } : {}),
          ...(n.chunks !== undefined ? { caps: { migrationInChunks: n.chunks } } : {}),
        });
    }
  };
  const node = (n: PciNodeConfig): PciNodeSpec => {
    const fn = n.function === undefined ? {} : { function: n.function };
    if ('bridge' in n) {
      return {
        device: n.device,
        ...fn,
        bridge: n.bridge,
        ...(n.acs !== undefined ? { acs: n.acs } : {}),
        ...(n.slot !== undefined ? { slot: { number: n.slot.number, ...(n.slot.hotplug !== undefined ? { hotplug: n.slot.hotplug } : {}) } } : {}),
        below: (n.below ?? []).map(node),
      };
    }
    const hw = model(n);
    if ('numVfs' in n && n.numVfs !== undefined && n.numVfs > 0) vfsAtStart.push({ hw, numVfs: n.numVfs });
    return { device: n.device, ...fn, hw };
  };
  try {
    const spec: PciRootSpec = {
      ...(root.domain !== undefined ? { domain: root.domain } : {}),
      ...(root.bus !== undefined ? { bus: root.bus } : {}),
      devices: root.devices.map(node),
    };
    return { spec, vfsAtStart, close };
  } catch (err) {
    close();
    throw err;
  }
}
