// refcount_t semantics (include/linux/refcount.h): saturating counters that warn instead of wrapping.
import { channel } from 'node:diagnostics_channel';

/** The value a counter sticks at after an overflow or underflow: INT_MIN / 2, as the kernel. */
export const REFCOUNT_SATURATED = -0x40000000;
const REFCOUNT_MAX = 0x7fffffff;

export type RefcountWarning = 'refcount-underflow' | 'refcount-overflow' | 'refcount-inc-on-zero';

/** Published on a refcount WARN: `{ kind, owner }`. The sanitizer and tests subscribe. */
export const refcountWarnChannel = channel('vfio-ts:refcount:warn');

/** A saturating reference count. `owner` names what it counts, for the warning. */
export class Refcount {
  value: number;

  constructor(
    initial: number,
    readonly owner: string,
  ) {
    this.value = initial;
  }

  private warn(kind: RefcountWarning): void {
    this.value = REFCOUNT_SATURATED;
    if (refcountWarnChannel.hasSubscribers) refcountWarnChannel.publish({ kind, owner: this.owner });
  }

  get saturated(): boolean {
    return this.value < 0;
  }

  set(v: number): void {
    this.value = v;
  }

  /** refcount_inc: an increment from 0 is a use-after-free in the making; warn and saturate. */
  inc(): void {
    const v = this.value;
    if (v <= 0) {
      if (v === 0) this.warn('refcount-inc-on-zero');
      return;
    }
    if (v === REFCOUNT_MAX) this.warn('refcount-overflow');
    else this.value = v + 1;
  }

  /** refcount_inc_not_zero: takes a reference only while the object is still counted. */
  incNotZero(): boolean {
    const v = this.value;
    if (v === 0) return false;
    if (v < 0) return true;
    if (v === REFCOUNT_MAX) this.warn('refcount-overflow');
    else this.value = v + 1;
    return true;
  }

  /** refcount_dec_and_test: true when this drop released the last reference. */
  decAndTest(): boolean {
    const v = this.value;
    if (v < 0) return false;
    if (v === 0) {
      this.warn('refcount-underflow');
      return false;
    }
    this.value = v - 1;
    return v === 1;
  }
}
