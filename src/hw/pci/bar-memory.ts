// BARs whose contents are plain memory a host process may map (what makes a BAR mmappable through vfio-pci: the
// kernel maps the BAR's physical pages; here a model backs such a BAR with a memfd it owns).
import type { PciFunction } from './pci-function.js';

/** Where a shareable BAR's bytes live: the model's fd (it stays open while the model lives) and the BAR's offset in it. */
export interface PciBarBacking {
  readonly fd: number;
  readonly offset: number;
}

/** A model with memory-backed BARs. */
export interface PciSharedBars {
  /** The backing of BAR `bar`, or null for a BAR of registers. */
  barBacking(bar: number): PciBarBacking | null;
}

function hasSharedBars(hw: PciFunction): hw is PciFunction & PciSharedBars {
  return 'barBacking' in hw;
}

/** The backing of `hw`'s BAR `bar`, or null when it has none. */
export function pciBarBacking(hw: PciFunction, bar: number): PciBarBacking | null {
  return hasSharedBars(hw) ? hw.barBacking(bar) : null;
}
