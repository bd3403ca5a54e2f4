// A sysfs tree (fs/sysfs, lib/kobject.c): directories owned by kernel objects, attribute files that show
// and store through a shared per-type table, and symbolic links. Cheap enough for 10,000 devices.
import { VfioError } from '../uapi/errno.js';
import { SlotMap } from './slot-map.js';

/** One attribute file. Method syntax on purpose: tables for a subtype serve a directory of the base type. */
export interface SysfsAttr<T> {
  show(owner: T): string;
  /** Absent: the file is read-only (writes fail with EACCES). */
  store?(owner: T, value: string): void;
}

export type SysfsAttrTable<T> = Readonly<Record<string, SysfsAttr<T>>>;

export class SysfsLink {
  readonly kind = 'link';
  constructor(
    readonly name: string,
    public parent: SysfsDir | null,
    readonly target: SysfsDir,
  ) {}
}

export class SysfsDir<T = unknown> {
  readonly kind = 'dir';
  /** Entries by name (slot-map: directories whose entries come and go under the same names keep their table). */
  children: SlotMap<SysfsNode> | null = null;
  /** Attribute tables; a directory may get more than one (attribute groups). */
  tables: SysfsAttrTable<T>[] | null = null;

  constructor(
    readonly name: string,
    public parent: SysfsDir | null,
    readonly owner: T,
  ) {}

  get path(): string {
    if (this.parent === null) return '';
    return `${this.parent.path}/${this.name}`;
  }

  child(name: string): SysfsNode | undefined {
    return this.children?.get(name);
  }

  attr(name: string): SysfsAttr<T> | undefined {
    const tables = this.tables;
    if (tables === null) return undefined;
    for (const t of tables) {
      const a = Object.hasOwn(t, name) ? t[name] : undefined;
      if (a !== undefined) return a;
    }
    return undefined;
  }

  attrNames(): string[] {
    return this.tables ? this.tables.flatMap((t) => Object.keys(t)) : [];
  }
}

export type SysfsNode = SysfsDir | SysfsLink;

export class Sysfs {
  /** `/sys` itself. */
  readonly root = new SysfsDir<null>('sys', null, null);

  /** Creates `name` under `parent`; EEXIST if the name is taken (the kernel's duplicate-name splat). */
  mkdir<T>(parent: SysfsDir, name: string, owner: T, attrs?: SysfsAttrTable<T>): SysfsDir<T> {
    if (name === '' || name.includes('/')) throw new VfioError('EINVAL', `bad sysfs name '${name}'`);
    if (parent.children?.has(name) || parent.attr(name)) {
      throw new VfioError('EEXIST', `sysfs: cannot create duplicate filename '${parent.path}/${name}'`);
    }
    const dir = new SysfsDir<T>(name, parent, owner);
    if (attrs) dir.tables = [attrs];
    (parent.children ??= new SlotMap<SysfsNode>()).set(name, dir);
    return dir;
  }

  /** mkdir -p for plain directories (no owner): `/sys/bus/pci/devices` and the like. */
  mkdirp(path: string): SysfsDir {
    let dir: SysfsDir = this.root;
    for (const part of splitPath(path)) {
      const next: SysfsNode | undefined = dir.child(part);
      if (next === undefined) dir = this.mkdir(dir, part, null);
      else if (next.kind === 'dir') dir = next;
      else throw new VfioError('ENOTDIR', `${next.parent?.path ?? ''}/${part} is a link`);
    }
    return dir;
  }

  /** Adds an attribute group to an existing directory (sysfs_create_group). */
  addAttrs<T>(dir: SysfsDir<T>, attrs: SysfsAttrTable<T>): void {
    if (dir.children === null && dir.tables === null) {
      // A directory just made (device_add's groups): nothing to collide with.
      dir.tables = [attrs];
      return;
    }
    for (const name of Object.keys(attrs)) {
      if (dir.children?.has(name) || dir.attr(name)) {
        throw new VfioError('EEXIST', `sysfs: cannot create duplicate filename '${dir.path}/${name}'`);
      }
    }
    (dir.tables ??= []).push(attrs);
  }

  /** Removes an attribute group added with addAttrs (sysfs_remove_group). */
  removeAttrs<T>(dir: SysfsDir<T>, attrs: SysfsAttrTable<T>): void {
    const i = dir.tables ? dir.tables.indexOf(attrs) : -1;
    if (dir.tables && i >= 0) dir.tables.splice(i, 1);
  }

  symlink(parent: SysfsDir, name: string, target: SysfsDir): SysfsLink {
    if (parent.children?.has(name) || parent.attr(name)) {
      throw new VfioError('EEXIST', `sysfs: cannot create duplicate filename '${parent.path}/${name}'`);
    }
    const link = new SysfsLink(name, parent, target);
    (parent.children ??= new SlotMap<SysfsNode>()).set(name, link);
    return link;
  }

  /** Removes a node and everything below it. Removing a node twice is a no-op. */
  remove(node: SysfsNode): void {
    const parent = node.parent;
    if (parent === null) return;
    if (parent.children?.get(node.name) === node) parent.children.delete(node.name);
    node.parent = null;
  }

  /** Removes the child `name` of `dir` if there is one (a link or a directory). */
  removeChild(dir: SysfsDir | null | undefined, name: string): void {
    const node = dir?.child(name);
    if (node !== undefined) this.remove(node);
  }

  /** Removes `dir` if it has no children and no attributes left (the kernel's glue-dir cleanup). */
  removeIfEmpty(dir: SysfsDir): void {
    if ((dir.children === null || dir.children.size === 0) && (dir.tables === null || dir.tables.length === 0)) {
      this.remove(dir);
    }
  }

  /** Resolves a path like `/sys/class/vfio-dev/vfio0`, following links in the middle (not the last part). */
  lookup(path: string): SysfsNode | undefined {
    const parts = splitPath(path);
    if (parts[0] === 'sys') parts.shift();
    let node: SysfsNode = this.root;
    for (const part of parts) {
      const dir: SysfsDir = node.kind === 'link' ? node.target : node;
      const next = dir.child(part);
      if (next === undefined) return undefined;
      node = next;
    }
    return node;
  }

  private dirAt(path: string): SysfsDir {
    const node = this.lookup(path);
    if (node === undefined) throw new VfioError('ENOENT', path);
    return node.kind === 'link' ? node.target : node;
  }

  /** Names in a directory: children and attribute files, sorted. */
  ls(path: string): string[] {
    const dir = this.dirAt(path);
    const names = [...(dir.children?.keys() ?? []), ...dir.attrNames()];
    return names.sort();
  }

  exists(path: string): boolean {
    const { dir, name } = this.splitAttr(path);
    return dir !== undefined && (dir.child(name) !== undefined || dir.attr(name) !== undefined);
  }

  private splitAttr(path: string): { dir: SysfsDir | undefined; name: string } {
    const i = path.lastIndexOf('/');
    const node = this.lookup(path.slice(0, i));
    return { dir: node?.kind === 'link' ? node.target : node, name: path.slice(i + 1) };
  }

  /** Reads an attribute file: ENOENT if absent. */
  read(path: string): string {
    const { dir, name } = this.splitAttr(path);
    const attr = dir?.attr(name);
    if (dir === undefined || attr === undefined) throw new VfioError('ENOENT', path);
    return attr.show(dir.owner);
  }

  /** Writes an attribute file: ENOENT if absent, EACCES if read-only; the store's own errno otherwise. */
  write(path: string, value: string): void {
    const { dir, name } = this.splitAttr(path);
    const attr = dir?.attr(name);
    if (dir === undefined || attr === undefined) throw new VfioError('ENOENT', path);
    if (attr.store === undefined) throw new VfioError('EACCES', `${path} is read-only`);
    attr.store(dir.owner, value);
  }

  /** Where a link points, as a path. */
  readlink(path: string): string {
    const { dir, name } = this.splitAttr(path);
    const node = dir?.child(name);
    if (node === undefined || node.kind !== 'link') throw new VfioError('EINVAL', `${path} is not a link`);
    return `/sys${node.target.path}`;
  }

  /** The tree below `path`, one line per entry, links shown with their target; for `vfio-ts ls`. */
  tree(path = '/sys', maxDepth = 64): string[] {
    const out: string[] = [];
    const walk = (dir: SysfsDir, indent: string, depth: number): void => {
      const names = [...(dir.children?.keys() ?? []), ...dir.attrNames()].sort();
      for (const n of names) {
        const child = dir.child(n);
        if (child === undefined) out.push(`${indent}${n}`);
        else if (child.kind === 'link') out.push(`${indent}${n} -> /sys${child.target.path}`);
        else {
          out.push(`${indent}${n}/`);
          if (depth < maxDepth) walk(child, `${indent}  `, depth + 1);
        }
      }
    };
    walk(this.dirAt(path), '', 1);
    return out;
  }
}

function splitPath(path: string): string[] {
  return path.split('/').filter((p) => p !== '');
}
