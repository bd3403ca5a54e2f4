// Tracks core objects (devices) from allocation to free, poisons freed objects so any later access throws,
// and collects the kernel's WARN-style findings. The analogue of KASAN + kmemleak + refcount_t checks.
import { channel } from 'node:diagnostics_channel';
import { DoubleFreeError, LeakError, UseAfterFreeError } from './errors.js';
import type { LeakRecord, SanitizerReport } from './errors.js';

interface Tracked {
  readonly kind: string;
  label: string;
  /** Where it was allocated and freed: the stacks are captured now and formatted only if a report needs them. */
  readonly allocatedAt: CallSite;
  freedAt: CallSite | null;
}

/** What may still be read on a freed object without a report: keeps Promise resolution and inspection sane. */
const SAFE_KEYS = new Set<PropertyKey>(['then', Symbol.toStringTag, Symbol.for('nodejs.util.inspect.custom')]);

/**
 * A captured call stack (KASAN's stack depot entry). V8 records the frames when the Error is made and builds the
 * text only when `.stack` is first read, so tracking a device costs a frame walk, not a string per frame.
 */
class CallSite {
  readonly #error: Error;

  /** @param skip frames to drop above the caller of the function that made this CallSite. */
  constructor(readonly skip: number) {
    // Made here, not in a field initializer, which V8 may show as a frame of its own.
    this.#error = new Error();
  }

  /** Up to 8 frames, starting at the caller `skip` levels up. */
  get text(): string {
    // Frames 0 and 1 are "Error" and this constructor.
    const lines = (this.#error.stack ?? '').split('\n').slice(2 + this.skip);
    return lines.slice(0, 8).join('\n');
  }
}

function callerStack(skip: number): string {
  return new CallSite(skip + 1).text;
}

function defaultEnabled(): boolean {
  const v = process.env['VFIO_TS_SANITIZE'];
  if (v !== undefined) return v === '1' || v === 'true';
  return process.env['NODE_TEST_CONTEXT'] !== undefined;
}

/**
 * The process-wide sanitizer. On by default under `node --test` (or VFIO_TS_SANITIZE=1), off otherwise.
 * When off, `track`/`free` return at once and no object is touched: hot paths pay one boolean test.
 */
export class Sanitizer {
  enabled = defaultEnabled();
  private readonly tracked = new WeakMap<object, Tracked>();
  /** Live objects by id, for the leak report; records, not the objects, so a dropped object still shows. */
  private readonly live = new Map<number, Tracked>();
  private readonly ids = new WeakMap<object, number>();
  private nextId = 1;
  readonly reports: SanitizerReport[] = [];

  constructor() {
    // refcount_t warnings arrive by channel name, so the sanitizer needs no import from the layers above it.
    channel('vfio-ts:refcount:warn').subscribe((msg) => {
      if (typeof msg === 'object' && msg !== null && 'kind' in msg && 'owner' in msg) {
        const kind = msg.kind;
        if (kind === 'refcount-underflow' || kind === 'refcount-overflow' || kind === 'refcount-inc-on-zero') {
          this.report(kind, String(msg.owner), `${kind} on ${String(msg.owner)}`);
        }
      }
    });
  }

  /** Starts tracking an object (the kernel's kmalloc under KASAN). */
  track(obj: object, kind: string, label: string): void {
    if (!this.enabled) return;
    const t: Tracked = { kind, label, allocatedAt: new CallSite(1), freedAt: null };
    this.tracked.set(obj, t);
    const id = this.nextId++;
    this.ids.set(obj, id);
    this.live.set(id, t);
  }

  /** Renames a tracked object once it has its final name (e.g. "vfio3"). */
  relabel(obj: object, label: string): void {
    const t = this.tracked.get(obj);
    if (t) t.label = label;
  }

  /** Whether the sanitizer saw `obj` freed. Never touches `obj`'s properties. */
  isFreed(obj: object): boolean {
    return this.tracked.get(obj)?.freedAt != null;
  }

  /** Whether `obj` is tracked and not freed (storage a driver allocated and tracked before handing it on). */
  isTracked(obj: object): boolean {
    const t = this.tracked.get(obj);
    return t !== undefined && t.freedAt === null;
  }

  /** Throws UseAfterFreeError if `obj` was freed: for API entry points that take an object. */
  assertLive(obj: object, op: string): void {
    if (!this.enabled) return;
    const t = this.tracked.get(obj);
    if (t?.freedAt != null) throw new UseAfterFreeError(t.label, op, t.freedAt.text);
  }

  /**
   * Frees a tracked object: reports a double free, then poisons every own property and the prototype
   * chain so that any later read, write or method call throws UseAfterFreeError naming the field.
   */
  free(obj: object): void {
    if (!this.enabled) return;
    const t = this.tracked.get(obj);
    if (!t) return;
    if (t.freedAt !== null) throw new DoubleFreeError(t.label, t.freedAt.text);
    t.freedAt = new CallSite(1);
    const id = this.ids.get(obj);
    if (id !== undefined) this.live.delete(id);
    poison(obj, t);
  }

  /** Records a WARN-style finding (the kernel prints a splat and goes on). */
  report(kind: SanitizerReport['kind'], object: string, message: string): void {
    if (!this.enabled) return;
    this.reports.push({ kind, object, message, stack: callerStack(1) });
  }

  /** Objects allocated and not freed, oldest first (kmemleak's scan). */
  leaks(kind?: string): LeakRecord[] {
    const out: LeakRecord[] = [];
    for (const t of this.live.values()) {
      if (kind === undefined || t.kind === kind) out.push({ object: t.label, kind: t.kind, allocatedAt: t.allocatedAt.text });
    }
    return out;
  }

  /** Number of live tracked objects: tests compare before and after. */
  liveCount(kind?: string): number {
    return kind === undefined ? this.live.size : this.leaks(kind).length;
  }

  /** Throws LeakError listing every object allocated since `mark` (from `mark()`) and not freed. */
  assertNoLeaks(mark = 0): void {
    const leaks: LeakRecord[] = [];
    for (const [id, t] of this.live) {
      if (id > mark) leaks.push({ object: t.label, kind: t.kind, allocatedAt: t.allocatedAt.text });
    }
    if (leaks.length > 0) throw new LeakError(leaks);
  }

  /** A point in allocation order: objects allocated after it are what `assertNoLeaks(mark)` checks. */
  mark(): number {
    return this.nextId - 1;
  }

  /** Findings of one kind since index `from` (tests slice what they caused). */
  reportsOf(kind: SanitizerReport['kind'], from = 0): SanitizerReport[] {
    return this.reports.slice(from).filter((r) => r.kind === kind);
  }
}

function poison(obj: object, t: Tracked): void {
  const uaf = (field: PropertyKey): never => {
    throw new UseAfterFreeError(t.label, String(field), t.freedAt?.text ?? '');
  };
  if (!Object.isExtensible(obj)) return;
  // Fields are deleted (last first, which V8 undoes cheaply) rather than replaced by throwing accessors: a read or
  // write of any of them then reaches the trap on the prototype below, which names the field all the same, and a
  // free costs a few deletes instead of a dictionary of accessor pairs.
  const keys = Reflect.ownKeys(obj);
  for (let i = keys.length - 1; i >= 0; i--) {
    const key = keys[i];
    if (key !== undefined && Object.getOwnPropertyDescriptor(obj, key)?.configurable) Reflect.deleteProperty(obj, key);
  }
  const proto: object | null = Object.getPrototypeOf(obj);
  // Methods and absent fields resolve through the prototype: a proxy there reports them by name.
  const trap = new Proxy(proto ?? Object.prototype, {
    getPrototypeOf(target) {
      // Keeps `instanceof` true for the freed object's own class.
      return target;
    },
    get(target, key, receiver) {
      if (SAFE_KEYS.has(key)) {
        if (key === 'then') return undefined;
        if (key === Symbol.toStringTag) return `freed ${t.label}`;
        return () => `[freed ${t.label}]`;
      }
      if (receiver !== obj) return Reflect.get(target, key, receiver);
      return uaf(key);
    },
    set(_target, key) {
      return uaf(key);
    },
    has(_target, key) {
      return uaf(key);
    },
  });
  Object.setPrototypeOf(obj, trap);
  Object.preventExtensions(obj);
}

/** The process-wide sanitizer instance. */
export const sanitizer = new Sanitizer();
