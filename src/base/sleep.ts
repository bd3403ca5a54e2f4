// Sleeping (include/linux/kernel.h might_sleep(), kernel/time/timer.c msleep()). A task that sleeps is, here, an
// async function awaiting a timer: the event loop and every other client go on meanwhile, as other tasks run on
// the kernel's CPUs. A caller that cannot wait (a synchronous call chain: the kernel's atomic context) must not
// reach code that sleeps; might_sleep() is the check at the top of such code, before it changes anything.

/** How many callers that can wait for a promise are on the stack (withSleepAllowed nests). */
let sleepAllowed = 0;

/** Runs `fn` as a caller that awaits what it returns: code under it may sleep. */
export function withSleepAllowed<T>(fn: () => T): T {
  sleepAllowed++;
  try {
    return fn();
  } finally {
    sleepAllowed--;
  }
}

/** Whether the running code may sleep (a caller up the stack awaits it). */
export function canSleep(): boolean {
  return sleepAllowed > 0;
}

/**
 * might_sleep(): a programming error (not an errno: no user input gets here) when the caller cannot wait. Called
 * first, so a refused call has changed nothing.
 */
export function mightSleep(what: string): void {
  if (sleepAllowed === 0) throw new Error(`BUG: sleeping function called from invalid context: ${what} (call it through an async path, e.g. VfioProcess.ioctlAsync)`);
}

/** msleep(): resolves after `ms` milliseconds; the caller's task sleeps, nothing else does. */
export function msleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
