// The crypto hardware of a simulated s390 machine: the adapters (cards 0..255) and usage domains it has, and a
// queue per adapter x domain. What QCI (query configuration information) reports is `config()`, the kernel's
// struct ap_config_info: the installed adapters (apm), usage domains (aqm) and control domains (adm), and the
// highest numbers the machine can address (Na, Nd: 255 with the APXA facility, else 63 and 15).
import { ApMask } from './ap-mask.js';
import { ApQueueHw } from './ap-queue-hw.js';
import type { ApQueueHwOptions } from './ap-queue-hw.js';
import { apMkQid } from './ap-defs.js';

export interface ApMachineSpec {
  /** Installed adapters (card numbers). */
  readonly cards: readonly number[];
  /** Usage domains of every adapter (also its control domains). */
  readonly domains: readonly number[];
  /** The AP extended addressing facility: ids up to 255 (default); without it, 63 adapters and 15 domains. */
  readonly apxa?: boolean;
  readonly queue?: ApQueueHwOptions;
}

/** struct ap_config_info, the part the drivers read. */
export interface ApConfigInfo {
  readonly apxa: boolean;
  readonly na: number;
  readonly nd: number;
  readonly apm: ApMask;
  readonly aqm: ApMask;
  readonly adm: ApMask;
}

export class ApMachine {
  readonly apxa: boolean;
  /** Every queue by APQN. */
  readonly queues = new Map<number, ApQueueHw>();
  readonly cards: readonly number[];
  readonly domains: readonly number[];

  constructor(spec: ApMachineSpec) {
    this.apxa = spec.apxa ?? true;
    const na = this.apxa ? 255 : 63;
    const nd = this.apxa ? 255 : 15;
    for (const c of spec.cards) if (!Number.isInteger(c) || c < 0 || c > na) throw new RangeError(`adapter ${c} is past ${na}`);
    for (const d of spec.domains) if (!Number.isInteger(d) || d < 0 || d > nd) throw new RangeError(`domain ${d} is past ${nd}`);
    this.cards = [...new Set(spec.cards)].sort((a, b) => a - b);
    this.domains = [...new Set(spec.domains)].sort((a, b) => a - b);
    for (const c of this.cards) for (const d of this.domains) this.queues.set(apMkQid(c, d), new ApQueueHw(apMkQid(c, d), spec.queue));
  }

  /** QCI: the configuration. */
  config(): ApConfigInfo {
    const aqm = ApMask.of(this.domains);
    return { apxa: this.apxa, na: this.apxa ? 255 : 63, nd: this.apxa ? 255 : 15, apm: ApMask.of(this.cards), aqm, adm: aqm.clone() };
  }

  queue(qid: number): ApQueueHw | undefined {
    return this.queues.get(qid);
  }
}
