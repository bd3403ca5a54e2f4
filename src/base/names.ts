// Numbered names (`vfio3`, `/dev/vfio/3`, an IOMMU group's `3`) made once per number and reused: ids come back
// from an Ida, so the same few strings name device after device, and a name built afresh each time costs a
// concatenation, a flatten and a hash at every lookup of the maps it keys.

const cache = new Map<string, string[]>();
/** Numbers above this are built each time (an Ida rarely goes that high; the cache stays small). */
const MAX_CACHED = 1 << 16;

/** `${prefix}${n}`, the same string object for the same prefix and number. */
export function numberedName(prefix: string, n: number): string {
  if (n < 0 || n >= MAX_CACHED || !Number.isInteger(n)) return `${prefix}${n}`;
  let names = cache.get(prefix);
  if (names === undefined) {
    names = [];
    cache.set(prefix, names);
  }
  return (names[n] ??= `${prefix}${n}`);
}
