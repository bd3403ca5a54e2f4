// Life-cycle events on node:diagnostics_channel, one channel per step (as undici publishes its request
// events). Publishing costs one property read when nobody listens.
import { channel } from 'node:diagnostics_channel';

export interface LifecycleEvent {
  readonly event: LifecycleStep;
  /** `vfioN`, or the driver's pending name before registration. */
  readonly name: string;
  readonly index: number;
  readonly driver: string;
  /** The request count, the open count after the step, or the errno of a failure. */
  readonly value?: number;
}

export const LIFECYCLE_STEPS = [
  'alloc',
  'init',
  'register',
  'open',
  'close',
  'request',
  'unregister',
  'release',
  'free',
] as const;

export type LifecycleStep = (typeof LIFECYCLE_STEPS)[number];

/** `vfio-ts:device:<step>` channels. */
export const lifecycleChannels: Readonly<Record<LifecycleStep, ReturnType<typeof channel>>> = Object.freeze({
  alloc: channel('vfio-ts:device:alloc'),
  init: channel('vfio-ts:device:init'),
  register: channel('vfio-ts:device:register'),
  open: channel('vfio-ts:device:open'),
  close: channel('vfio-ts:device:close'),
  request: channel('vfio-ts:device:request'),
  unregister: channel('vfio-ts:device:unregister'),
  release: channel('vfio-ts:device:release'),
  free: channel('vfio-ts:device:free'),
});

/** Subscribes `fn` to every step; returns the unsubscribe function. */
export function subscribeLifecycle(fn: (e: LifecycleEvent) => void): () => void {
  const handler = (msg: unknown): void => {
    if (isLifecycleEvent(msg)) fn(msg);
  };
  for (const s of LIFECYCLE_STEPS) lifecycleChannels[s].subscribe(handler);
  return () => {
    for (const s of LIFECYCLE_STEPS) lifecycleChannels[s].unsubscribe(handler);
  };
}

function isLifecycleEvent(msg: unknown): msg is LifecycleEvent {
  return typeof msg === 'object' && msg !== null && 'event' in msg && 'name' in msg;
}
