// A string-keyed map whose removed keys keep their slot (undefined) until tombstones outnumber the live entries.
// Namespaces whose entries come and go under the same names (`/sys/class/vfio-dev/vfio0`, `/dev/vfio/devices/vfio0`,
// an IOMMU group's `devices/`) then never shrink and regrow a hash table per add and remove: V8's Map appends
// every set and compacts on deletes, which costs an allocation every few cycles. Most sysfs directories hold one
// entry (an IOMMU group's `devices`, a glue directory's device), so the first key lives inline and a Map is made
// only for a second one.

export class SlotMap<V> {
  /** The inline slot, used while #map is null; #key0 stays after a delete, as a tombstone. */
  #key0: string | null = null;
  #value0: V | undefined = undefined;
  #map: Map<string, V | undefined> | null = null;
  #live = 0;

  get size(): number {
    return this.#live;
  }

  get(key: string): V | undefined {
    const map = this.#map;
    if (map === null) return key === this.#key0 ? this.#value0 : undefined;
    return map.get(key);
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  set(key: string, value: V): void {
    let map = this.#map;
    if (map === null) {
      if (this.#value0 === undefined || key === this.#key0) {
        if (this.#value0 === undefined) this.#live++;
        this.#key0 = key;
        this.#value0 = value;
        return;
      }
      // A second live key: move to a Map.
      map = new Map<string, V | undefined>();
      if (this.#key0 !== null) map.set(this.#key0, this.#value0);
      this.#key0 = null;
      this.#value0 = undefined;
      this.#map = map;
    }
    if (map.get(key) === undefined) this.#live++;
    map.set(key, value);
  }

  delete(key: string): void {
    const map = this.#map;
    if (map === null) {
      if (key !== this.#key0 || this.#value0 === undefined) return;
      this.#live--;
      this.#value0 = undefined;
      return;
    }
    if (map.get(key) === undefined) return;
    this.#live--;
    map.set(key, undefined);
    if (map.size > 2 * this.#live + 32) {
      for (const [k, v] of map) if (v === undefined) map.delete(k);
    }
  }

  *keys(): IterableIterator<string> {
    for (const [k] of this.#entries()) yield k;
  }

  *values(): IterableIterator<V> {
    for (const [, v] of this.#entries()) yield v;
  }

  *#entries(): IterableIterator<[string, V]> {
    const map = this.#map;
    if (map === null) {
      if (this.#key0 !== null && this.#value0 !== undefined) yield [this.#key0, this.#value0];
      return;
    }
    for (const [k, v] of map) if (v !== undefined) yield [k, v];
  }
}
