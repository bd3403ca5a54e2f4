// FdWatcher's types: readiness callbacks for one fd on Node's event loop (src/native/fd-watcher.cc, libuv uv_poll_t).
// Types only, so that binding.ts can declare the addon's surface with them; index.ts exports the constructor.

/**
 * Called on readiness with the ready POLL* bits (POLLIN, POLLOUT, POLLRDHUP, POLLPRI) and `error`
 * 0; or, when libuv reports an error on the fd (POLLERR), with events 0 and `error` -errno (e.g.
 * -EBADF): the watcher is then stopped until the next start().
 */
export type FdWatcherCallback = (events: number, error: number) => void;

/**
 * Readiness of one fd on Node's own event loop. The watcher never closes the fd: its owner does,
 * after close() (stop or close the watcher before closing the fd). Like libuv, it puts the fd in
 * O_NONBLOCK mode, and one fd can have only one watcher per thread (else NativeError EEXIST).
 * A started watcher is not garbage-collected; an exception in the callback is an uncaught
 * exception, as with any callback.
 */
export interface FdWatcher {
  /** Watches for `events` (POLLIN, POLLOUT, POLLRDHUP, POLLPRI); call again to change interest; 0 stops. */
  start(events: number): void;
  /** No callback fires until the next start(). */
  stop(): void;
  /** Idempotent, safe from inside the callback; no callback fires afterwards. Does not close the fd. */
  close(): void;
  /** Keeps the event loop alive while started (the default). */
  ref(): this;
  /** Lets the process exit even while started. */
  unref(): this;
}

export interface FdWatcherConstructor {
  new (fd: number, callback: FdWatcherCallback): FdWatcher;
  readonly prototype: FdWatcher;
}
