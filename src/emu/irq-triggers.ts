// The user's interrupt eventfds of an emulated PCI device: INTx trigger and unmask irqfd, MSI/MSI-X vectors, ERR and REQ
// (drivers/vfio/pci/vfio_pci_intrs.c ctx->trigger, vfio_virqfd, vdev->err_trigger/req_trigger).
import { readlinkSync } from 'node:fs';
import { FdWatcher, NativeError, POLLIN, close, dup, eventfdRead, eventfdWrite, fdIsOpen, setNonBlocking } from '../native/index.js';
import type { FdWatcher as FdWatcherType } from '../native/index.js';
import { VfioError } from '../uapi/errno.js';
import type { IrqTriggerSink, PciIrqKind } from '../pci/irq.js';

/** Which IRQ index is enabled (vdev->irq_type): at most one of INTx, MSI, MSI-X at a time. */
export type PciEmuIrqType = 'none' | PciIrqKind;

/** Whether `fd` is an eventfd: what eventfd_ctx_fileget() accepts (its file is eventfd's anonymous inode). */
export function isEventfd(fd: number): boolean {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`) === 'anon_inode:[eventfd]';
  } catch {
    return false;
  }
}

/**
 * Takes a reference on a user's eventfd (eventfd_ctx_fdget): a dup the device owns. EBADF if `fd` is not open,
 * EINVAL if it is not an eventfd (a pipe or socket would let a user block the server in write). The file is made
 * non-blocking (QEMU's eventfds already are), so a counter the user saturated drops a signal instead of blocking.
 */
export function takeEventfd(fd: number): number {
  if (!fdIsOpen(fd)) throw new VfioError('EBADF', `eventfd ${fd} is not open`);
  if (!isEventfd(fd)) throw new VfioError('EINVAL', `fd ${fd} is not an eventfd`);
  let own: number;
  try {
    own = dup(fd);
  } catch (err) {
    if (NativeError.is(err)) throw new VfioError(err.code === 'EMFILE' ? 'EMFILE' : 'EBADF', `eventfd ${fd}: ${err.message}`);
    throw err;
  }
  try {
    setNonBlocking(own, true);
  } catch (err) {
    close(own); // balances the dup above
    throw err;
  }
  return own;
}

/** eventfd_signal(): adds 1; a saturated counter drops the signal (the write is non-blocking: EAGAIN), as the kernel's does. */
export function signalEventfd(fd: number): void {
  if (fd >= 0) eventfdWrite(fd, 1);
}

/**
 * The triggers one device holds. Every fd here is a dup owned by this object: set* closes the one it
 * replaces, and disableAll (closeDevice) closes them all.
 */
export class PciEmuIrqTriggers implements IrqTriggerSink {
  type: PciEmuIrqType = 'none';
  intxTrigger = -1;
  /** MSI/MSI-X vector triggers, -1 where none; length is the enabled vector count (num_ctx). */
  vectors: number[] = [];
  errTrigger = -1;
  reqTrigger = -1;
  private unmaskFd = -1;
  private unmaskWatcher: FdWatcherType | null = null;

  /** `onUnmask` runs when the INTx unmask eventfd is signalled (vfio_pci_intx_unmask_handler). */
  constructor(private readonly onUnmask: () => void) {}

  /** IrqTriggerSink: where src/pci's interrupt state delivers; only the enabled index reaches the user. */
  trigger(kind: PciIrqKind, vector: number): void {
    if (kind !== this.type) return;
    if (kind === 'intx') signalEventfd(this.intxTrigger);
    else signalEventfd(this.vectors[vector] ?? -1);
  }

  /** Replaces the INTx trigger with `fd` (already taken) or none (-1). */
  setIntxTrigger(fd: number): void {
    if (this.intxTrigger >= 0) close(this.intxTrigger);
    this.intxTrigger = fd;
  }

  get hasUnmaskFd(): boolean {
    return this.unmaskFd >= 0;
  }

  /** vfio_virqfd_enable for INTx unmask: `fd` (already taken) is watched; each signal unmasks. */
  setUnmaskFd(fd: number): void {
    this.clearUnmaskFd();
    this.unmaskFd = fd;
    const watcher = new FdWatcher(fd, (events, error) => {
      if (error !== 0 || (events & POLLIN) === 0) return;
      // Consume the count so the watcher does not spin; a racing reader may already have taken it.
      if (typeof eventfdRead(fd) === 'bigint') this.onUnmask();
    });
    // An irqfd must not keep the process alive on its own.
    watcher.unref();
    watcher.start(POLLIN);
    this.unmaskWatcher = watcher;
  }

  /** vfio_virqfd_disable: stops watching and closes the dup. */
  clearUnmaskFd(): void {
    this.unmaskWatcher?.close();
    this.unmaskWatcher = null;
    if (this.unmaskFd >= 0) close(this.unmaskFd);
    this.unmaskFd = -1;
  }

  /** Sets vector `i`'s trigger to `fd` (already taken) or none. */
  setVector(i: number, fd: number): void {
    const old = this.vectors[i] ?? -1;
    if (old >= 0) close(old);
    this.vectors[i] = fd;
  }

  /**
   * vfio_msi_set_block(): vectors [start, start + fds.length) get the user's eventfds (taken here; -1 clears one).
   * EINVAL beyond the enabled vectors; on any failure the vectors set here are cleared again.
   */
  setVectorBlock(start: number, fds: readonly number[]): void {
    let j = start;
    try {
      for (const fd of fds) {
        // Vectors beyond those enabled have no interrupt to attach to (pci_irq_vector() is -EINVAL).
        if (j >= this.vectors.length) throw new VfioError('EINVAL', `vector ${j} beyond the ${this.vectors.length} enabled`);
        this.setVector(j, fd >= 0 ? takeEventfd(fd) : -1);
        j++;
      }
    } catch (err) {
      for (let i = start; i < j; i++) this.setVector(i, -1);
      throw err;
    }
  }

  /** Drops every vector trigger (vfio_msi_disable). */
  clearVectors(): void {
    for (const fd of this.vectors) if (fd >= 0) close(fd);
    this.vectors = [];
  }

  setErrTrigger(fd: number): void {
    if (this.errTrigger >= 0) close(this.errTrigger);
    this.errTrigger = fd;
  }

  setReqTrigger(fd: number): void {
    if (this.reqTrigger >= 0) close(this.reqTrigger);
    this.reqTrigger = fd;
  }

  /** Everything off and every dup closed (vfio_pci_core_disable on the last close). Idempotent. */
  disableAll(): void {
    this.clearUnmaskFd();
    this.setIntxTrigger(-1);
    this.clearVectors();
    this.setErrTrigger(-1);
    this.setReqTrigger(-1);
    this.type = 'none';
  }
}
