// /dev: a namespace of device nodes (char devices). Opening a node is its subsystem's job; this only
// names nodes, refuses duplicates and finds them by type.
import { VfioError } from '../uapi/errno.js';
import { SlotMap } from './slot-map.js';

export class Devfs {
  /** Nodes by path; a slot-map, since nodes come and go under the same few paths. */
  private readonly nodes = new SlotMap<object>();

  add(path: string, node: object): void {
    if (this.nodes.has(path)) throw new VfioError('EEXIST', `${path} exists`);
    this.nodes.set(path, node);
  }

  /** Removes `path` if it still names `node` (a later node of the same name is left alone). */
  remove(path: string, node: object): void {
    if (this.nodes.get(path) === node) this.nodes.delete(path);
  }

  /** The node at `path` if it is a `type`; ENOENT otherwise. */
  get<T extends object>(path: string, type: abstract new (...args: never[]) => T): T {
    const n = this.nodes.get(path);
    if (!(n instanceof type)) throw new VfioError('ENOENT', path);
    return n;
  }

  has(path: string): boolean {
    return this.nodes.has(path);
  }

  /** Paths under `prefix`, sorted. */
  ls(prefix = '/dev/'): string[] {
    return [...this.nodes.keys()].filter((p) => p.startsWith(prefix)).sort();
  }
}
