// Block coverage of the code under test, read from V8 itself (the inspector's Profiler.takePreciseCoverage):
// the signal that makes the fuzzer keep an input. Each take resets the counters, so one take after one input
// says which blocks that input ran.
import { Session } from 'node:inspector';

export class V8Coverage {
  readonly #session = new Session();
  /** Functions that ran, as `script:start-end`, and blocks known to have run. */
  readonly #seen = new Set<string>();
  /** Per function that ran: the blocks V8 has ever listed inside it (it lists a nested block only while it differs from its function: not run). */
  readonly #known = new Map<string, Set<string>>();
  readonly #include: (url: string) => boolean;

  constructor(include: (url: string) => boolean) {
    this.#include = include;
    this.#session.connect();
    this.#post('Profiler.enable');
    this.#post('Profiler.startPreciseCoverage', { callCount: false, detailed: true });
  }

  /** Functions and blocks seen to run so far. */
  get blocks(): number {
    return this.#seen.size;
  }

  /** Takes the coverage since the last take; how many functions or blocks ran for the first time. */
  takeNew(): number {
    let fresh = 0;
    const result = this.#post('Profiler.takePreciseCoverage') as { result?: { url: string; functions: { ranges: { startOffset: number; endOffset: number; count: number }[] }[] }[] };
    for (const script of result.result ?? []) {
      if (!this.#include(script.url)) continue;
      for (const fn of script.functions) {
        const [whole, ...nested] = fn.ranges;
        if (whole === undefined || whole.count === 0) continue;
        const fnKey = `${script.url}:${whole.startOffset}-${whole.endOffset}`;
        if (!this.#seen.has(fnKey)) {
          this.#seen.add(fnKey);
          fresh++;
        }
        // The blocks listed with count 0 did not run; a block listed before and not now did.
        const notRun = new Set(nested.filter((r) => r.count === 0).map((r) => `${script.url}:${r.startOffset}-${r.endOffset}`));
        let known = this.#known.get(fnKey);
        if (known === undefined) {
          known = new Set();
          this.#known.set(fnKey, known);
        }
        for (const b of known) {
          if (!notRun.has(b) && !this.#seen.has(b)) {
            this.#seen.add(b);
            fresh++;
          }
        }
        for (const b of notRun) known.add(b);
      }
    }
    return fresh;
  }

  close(): void {
    this.#post('Profiler.stopPreciseCoverage');
    this.#session.disconnect();
  }

  /** Session.post is synchronous for the in-process session: the callback runs before post returns. */
  #post(method: string, params?: object): unknown {
    let out: unknown;
    let error: Error | null = null;
    this.#session.post(method, params ?? {}, (err, res) => {
      error = err;
      out = res;
    });
    if (error !== null) throw error;
    return { result: (out as { result?: unknown } | undefined)?.result };
  }
}
