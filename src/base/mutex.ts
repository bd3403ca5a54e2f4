// A mutex for synchronous critical sections: JavaScript runs them to the end, so the lock's job is to
// catch re-entry (a self-deadlock in the kernel) and to let code assert it holds the lock (lockdep).

export class Mutex {
  private owner: string | null = null;

  constructor(readonly name: string) {}

  get held(): boolean {
    return this.owner !== null;
  }

  /** mutex_lock(): pair with unlock in a finally. Taking it again while held is the kernel's self-deadlock: a bug. */
  lock(who = 'holder'): void {
    if (this.owner !== null) {
      throw new Error(`deadlock: ${this.name} taken by ${who} while held by ${this.owner}`);
    }
    this.owner = who;
  }

  /** mutex_unlock(). */
  unlock(): void {
    this.owner = null;
  }

  /** Runs `fn` with the lock held. */
  withLock<T>(fn: () => T, who = 'holder'): T {
    this.lock(who);
    try {
      return fn();
    } finally {
      this.unlock();
    }
  }

  /** lockdep_assert_held(). */
  assertHeld(): void {
    if (this.owner === null) throw new Error(`lockdep: ${this.name} not held`);
  }
}
