// The reset handlers of vfio-platform (vfio_platform_common.c reset_list, __vfio_platform_register_reset,
// vfio_platform_unregister_reset, vfio_platform_lookup_reset, vfio_platform_get_reset/put_reset): handlers are
// registered by compatible string; a device takes a reference on its handler's module for as long as it exists. A
// lookup that misses first "loads the module" `vfio-reset:<compat>` (request_module): the built-in handlers in
// reset/ register themselves that way.
import { sanitizer } from '../../sanitizer/sanitizer.js';
import { VfioError } from '../../uapi/errno.js';
import type { VfioPlatformResetFn } from './private.js';

/** struct vfio_platform_reset_node. */
interface ResetNode {
  readonly compat: string;
  readonly reset: VfioPlatformResetFn;
  /** The module's reference count (try_module_get / module_put). */
  users: number;
}

/** A device's reference on a reset handler's module (vdev->of_reset plus vdev->reset_module). */
export interface VfioPlatformResetRef {
  readonly compat: string;
  readonly reset: VfioPlatformResetFn;
}

const resetList: ResetNode[] = [];
const refs = new Map<VfioPlatformResetRef, ResetNode>();
/** request_module("vfio-reset:<compat>"): what loading a reset module for `compat` does, if one exists. */
const loaders = new Map<string, () => void>();

/** __vfio_platform_register_reset() (module_vfio_reset_handler's init). EEXIST for the same compat and function. */
export function vfioPlatformRegisterReset(compat: string, reset: VfioPlatformResetFn): void {
  if (resetList.some((n) => n.compat === compat && n.reset === reset)) throw new VfioError('EEXIST', `reset for ${compat} is registered`);
  resetList.unshift({ compat, reset, users: 0 });
}

/** vfio_platform_unregister_reset() (the module's exit): EBUSY while a device holds the module. */
export function vfioPlatformUnregisterReset(compat: string, reset: VfioPlatformResetFn): void {
  const i = resetList.findIndex((n) => n.compat === compat && n.reset === reset);
  if (i < 0) return;
  const node = resetList[i];
  if (node !== undefined && node.users > 0) throw new VfioError('EBUSY', `reset module for ${compat} is in use by ${node.users} device(s)`);
  resetList.splice(i, 1);
}

/** Names what request_module("vfio-reset:<compat>") loads (the built-in reset modules call this). */
export function vfioPlatformResetModuleAlias(compat: string, load: () => void): void {
  loaders.set(compat, load);
}

function lookup(compat: string): VfioPlatformResetRef | null {
  const node = resetList.find((n) => n.compat === compat);
  if (node === undefined) return null;
  node.users++;
  const ref: VfioPlatformResetRef = Object.freeze({ compat, reset: node.reset });
  refs.set(ref, node);
  sanitizer.track(ref, 'vfio_platform_reset_ref', `reset module ref (${compat})`);
  return ref;
}

/** vfio_platform_get_reset(): a reference on the handler for `compat`, loading its module once on a miss; null if none. */
export function vfioPlatformGetReset(compat: string): VfioPlatformResetRef | null {
  const found = lookup(compat);
  if (found !== null) return found;
  const load = loaders.get(compat);
  if (load === undefined) return null;
  load();
  return lookup(compat);
}

/** vfio_platform_put_reset(): drops the module reference get took. */
export function vfioPlatformPutReset(ref: VfioPlatformResetRef): void {
  const node = refs.get(ref);
  if (node === undefined) throw new Error(`reset module ref for ${ref.compat} put twice`);
  refs.delete(ref);
  node.users--;
  sanitizer.free(ref);
}

/** Whether a handler for `compat` is registered now (for tests and listings). */
export function vfioPlatformHasResetFor(compat: string): boolean {
  return resetList.some((n) => n.compat === compat);
}
