// An eventfd that runs a handler each time the user signals it (drivers/vfio/virqfd.c vfio_virqfd_enable /
// vfio_virqfd_disable): the MASK and UNMASK actions of SET_IRQS with DATA_EVENTFD.
import { FdWatcher, POLLIN, close, eventfdRead } from '../../native/index.js';
import type { FdWatcher as FdWatcherType } from '../../native/index.js';
import { takeEventfd } from '../../emu/irq-triggers.js';

export class Virqfd {
  private fd: number;
  private watcher: FdWatcherType | null;

  /** vfio_virqfd_enable(): takes a reference on the user's eventfd `fd` and watches it. */
  constructor(fd: number, handler: () => void) {
    this.fd = takeEventfd(fd);
    const own = this.fd;
    const watcher = new FdWatcher(own, (events, error) => {
      if (error !== 0 || (events & POLLIN) === 0) return;
      // Consume the count so the watcher does not spin.
      if (typeof eventfdRead(own) === 'bigint') handler();
    });
    // A virqfd must not keep the process alive on its own.
    watcher.unref();
    watcher.start(POLLIN);
    this.watcher = watcher;
  }

  /** vfio_virqfd_disable(): stops watching and drops the reference. Idempotent. */
  disable(): void {
    this.watcher?.close();
    this.watcher = null;
    if (this.fd >= 0) close(this.fd); // balances takeEventfd in the constructor
    this.fd = -1;
  }
}
