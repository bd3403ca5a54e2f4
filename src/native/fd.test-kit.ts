// Test helpers on real fds, for every layer's tests: the process's open-fd count (leak checks) and a socket
// pair closed when the test ends.
import { readdirSync } from 'node:fs';
import * as native from './index.js';

/** Open fds of this process (to check nothing leaked). */
export function openFdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

/** A connected socketpair (see native.socketpair) whose ends are closed after the test. */
export function socketPair(t: { after(fn: () => void): void }): [number, number] {
  const [a, b] = native.socketpair();
  t.after(() => {
    native.close(a);
    native.close(b);
  });
  return [a, b];
}
