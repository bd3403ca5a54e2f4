// A mutex for synchronous critical sections: JavaScript runs them to the end, so the lock's job is to
// catch re-entry (a self-deadlock in the kernel) and to let code assert it holds the lock (lockdep).

export class Mutex {
  private owner: string | null = null;

  constructor(readonly name: string) {}

  get held(): boolean {
    return this.owner !== null;
  }

  /** Runs `fn` with the lock held. Taking it again from inside is the kernel's self-deadlock: a bug. */
  withLock<T>(fn: () => T, who = 'holder'): T {
    if (this.owner !== null) {
      throw new Error(`deadlock: ${this.name} taken by ${who} while held by ${this.owner}`);
    }
    this.owner = who;
    try {
      return fn();
    } finally {
      this.owner = null;
    }
  }

  /** lockdep_assert_held(). */
  assertHeld(): void {
    if (this.owner === null) throw new Error(`lockdep: ${this.name} not held`);
  }
}
