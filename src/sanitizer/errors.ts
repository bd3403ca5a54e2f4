// The sanitizer's error classes: what KASAN, kmemleak and refcount_t warnings report in the kernel.

/** Base of every sanitizer finding: a bug in the caller (driver or core user), never a client fault. */
export class SanitizerError extends Error {
  override name = 'SanitizerError';
}

/** An access to an object after it was freed (KASAN: use-after-free). */
export class UseAfterFreeError extends SanitizerError {
  override name = 'UseAfterFreeError';
  constructor(
    readonly object: string,
    readonly field: string,
    readonly freedAt: string,
  ) {
    super(`use after free: ${object}.${field} accessed after ${object} was freed\n  freed at:\n${freedAt}`);
  }
}

/** A second free of the same object (KASAN: double-free). */
export class DoubleFreeError extends SanitizerError {
  override name = 'DoubleFreeError';
  constructor(
    readonly object: string,
    readonly freedAt: string,
  ) {
    super(`double free of ${object}\n  first freed at:\n${freedAt}`);
  }
}

/** Objects still alive at a leak check (kmemleak). */
export class LeakError extends SanitizerError {
  override name = 'LeakError';
  constructor(readonly leaks: readonly LeakRecord[]) {
    super(
      `${leaks.length} object(s) never freed:\n` +
        leaks.map((l) => `  ${l.object} (${l.kind}), allocated at:\n${l.allocatedAt}`).join('\n'),
    );
  }
}

export interface LeakRecord {
  readonly object: string;
  readonly kind: string;
  readonly allocatedAt: string;
}

/** A non-fatal finding: refcount warnings, a file still open at free, a freed-while-registered device. */
export interface SanitizerReport {
  readonly kind:
    | 'refcount-underflow'
    | 'refcount-overflow'
    | 'refcount-inc-on-zero'
    | 'open-file-at-free'
    | 'freed-while-registered'
    | 'never-freed-storage';
  readonly object: string;
  readonly message: string;
  readonly stack: string;
}
