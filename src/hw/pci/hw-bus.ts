// The wires of a PCI hierarchy: which function answers a config cycle on which bus segment, routed through
// bridges by their secondary/subordinate bus numbers (PCI-to-PCI Bridge Architecture 1.2, 3.2.2.3).
import type { PciFunction } from './pci-function.js';

/** A bridge as the wiring sees it: a function with a bus segment on its secondary side. */
export interface PciHwBridge extends PciFunction {
  readonly secondary: PciHwBus;
  /** Secondary and subordinate bus numbers as programmed (0, 0 before enumeration). */
  busRange(): { secondary: number; subordinate: number };
  /** While Secondary Bus Reset is asserted nothing below answers. */
  readonly inReset: boolean;
}

/** One bus segment: functions by devfn (device << 3 | function). */
export class PciHwBus {
  readonly slots = new Map<number, PciFunction>();

  constructor(readonly upstream: PciHwBridge | null) {}

  /** The function answering a Type 0 cycle at `devfn`: one in a slot, or an enabled VF of one. */
  functionAt(devfn: number): PciFunction | undefined {
    if (this.upstream?.inReset === true) return undefined;
    const f = this.slots.get(devfn);
    if (f !== undefined) return f;
    for (const [pfDevfn, pf] of this.slots) {
      for (const [offset, vf] of pf.virtualFunctions()) if (pfDevfn + offset === devfn) return vf;
    }
    return undefined;
  }

  /** Bridges on this segment (in devfn order). */
  bridges(): PciHwBridge[] {
    const out: PciHwBridge[] = [];
    for (const devfn of [...this.slots.keys()].sort((a, b) => a - b)) {
      const f = this.slots.get(devfn);
      if (f !== undefined && isHwBridge(f)) out.push(f);
    }
    return out;
  }
}

export function isHwBridge(f: PciFunction): f is PciHwBridge {
  return 'secondary' in f && 'busRange' in f;
}

/** A host bridge's root bus segment in a PCI domain. */
export class PciHwRoot {
  readonly bus = new PciHwBus(null);

  constructor(
    readonly domain: number,
    readonly busNumber: number,
  ) {}

  /**
   * The function a config cycle to `busNr`/`devfn` reaches: Type 0 on the root bus, else forwarded through
   * the bridge whose [secondary, subordinate] range holds `busNr` (and so on down). Undefined: master abort.
   */
  configTarget(busNr: number, devfn: number): PciFunction | undefined {
    let bus = this.bus;
    let number = this.busNumber;
    for (;;) {
      if (busNr === number) return bus.functionAt(devfn);
      const via = bus.bridges().find((b) => {
        const r = b.busRange();
        return r.secondary !== 0 && r.secondary <= busNr && busNr <= r.subordinate && !b.inReset && bus.functionAt(devfnOf(bus, b)) === b;
      });
      if (via === undefined) return undefined;
      bus = via.secondary;
      number = via.busRange().secondary;
    }
  }
}

function devfnOf(bus: PciHwBus, f: PciFunction): number {
  for (const [devfn, g] of bus.slots) if (g === f) return devfn;
  return -1;
}
