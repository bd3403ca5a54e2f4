// struct completion (kernel/sched/completion.c): a one-shot (or counted) event others wait for.
import { VfioError } from '../uapi/errno.js';

interface Waiter {
  resolve(done: boolean): void;
}

export interface WaitOptions {
  /** Give up after this many milliseconds (resolves false). */
  readonly timeoutMs?: number;
  /** Reject with ECANCELED when aborted (the interruptible wait). */
  readonly signal?: AbortSignal;
}

export class Completion {
  /** The kernel's `done` counter; UINT_MAX after completeAll. */
  private done = 0;
  private waiters: Waiter[] | null = null;

  /** complete(): wakes one waiter, or lets the next wait pass. */
  complete(): void {
    const w = this.waiters?.shift();
    if (w) w.resolve(true);
    else if (this.done !== Infinity) this.done++;
  }

  /** complete_all(): wakes every waiter and every later one until `reinit`. */
  completeAll(): void {
    this.done = Infinity;
    const ws = this.waiters;
    this.waiters = null;
    if (ws) for (const w of ws) w.resolve(true);
  }

  /** reinit_completion(). */
  reinit(): void {
    this.done = 0;
  }

  /** try_wait_for_completion(): consumes a completion without waiting. */
  tryWait(): boolean {
    if (this.done === 0) return false;
    if (this.done !== Infinity) this.done--;
    return true;
  }

  get completed(): boolean {
    return this.done > 0;
  }

  /** Resolves true when completed, false on timeout; rejects with ECANCELED on abort. */
  wait(opts: WaitOptions = {}): Promise<boolean> {
    if (this.tryWait()) return Promise.resolve(true);
    const { timeoutMs, signal } = opts;
    if (signal?.aborted) return Promise.reject(new VfioError('ECANCELED', 'wait aborted'));
    return new Promise<boolean>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => {
        remove();
        reject(new VfioError('ECANCELED', 'wait aborted'));
      };
      const waiter: Waiter = {
        resolve: (done) => {
          if (timer) clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve(done);
        },
      };
      const remove = (): void => {
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const ws = this.waiters;
        const i = ws ? ws.indexOf(waiter) : -1;
        if (ws && i >= 0) ws.splice(i, 1);
      };
      (this.waiters ??= []).push(waiter);
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          remove();
          resolve(false);
        }, timeoutMs);
      }
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
