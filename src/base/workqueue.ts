// struct work_struct on a workqueue (kernel/workqueue.c: queue_work, flush_work, work_busy). A work's function runs
// as a task of its own that may sleep (an async function); queueing a work that is already pending does nothing
// (queue_work returns false), queueing one that is running makes it run once more afterwards, and flush_work waits
// for the last queued run to finish. Runs start on a later turn of the event loop, never inside queue().
import type { Logger } from './log.js';

export class Work {
  /** WORK_STRUCT_PENDING: queued and not yet started. */
  private queued = false;
  /** The last queued run (runs follow one another); null once it finished. */
  private tail: Promise<void> | null = null;
  private running = false;

  constructor(
    /** The work function: a task that may sleep; it should not throw (a throw is logged and ends the run). */
    private readonly fn: () => Promise<void>,
    readonly name: string,
    private readonly logger: Logger | null = null,
  ) {}

  /** queue_work(): false if already pending. */
  queue(): boolean {
    if (this.queued) return false;
    this.queued = true;
    const start = this.tail ?? Promise.resolve();
    const run = start.then(async () => {
      this.queued = false;
      this.running = true;
      try {
        await this.fn();
      } catch (err) {
        this.logger?.error({ work: this.name, err: String(err) }, 'work function failed');
      } finally {
        this.running = false;
      }
    });
    this.tail = run;
    void run.then(() => {
      if (this.tail === run) this.tail = null;
    });
    return true;
  }

  /** work_busy(): pending or running. */
  get busy(): boolean {
    return this.queued || this.running;
  }

  /** flush_work(): waits until the last queued run finished; true if there was one to wait for. */
  flush(): Promise<boolean> {
    const t = this.tail;
    return t === null ? Promise.resolve(false) : t.then(() => true);
  }
}
