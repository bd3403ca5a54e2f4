// msleep() (kernel/time/timer.c) for vfio_ap's reset wait: the caller sleeps for real, as the task issuing the
// ioctl does in the kernel. The whole event loop sleeps with it (a process here is one thread), which the reset
// bounds at MAX_RESET_CHECK_WAIT.
const cell = new Int32Array(new SharedArrayBuffer(4));

/** Sleeps `ms` milliseconds without spinning (Atomics.wait on a cell nobody notifies). */
export function msleep(ms: number): void {
  if (ms > 0) Atomics.wait(cell, 0, 0, ms);
}
