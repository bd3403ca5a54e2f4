// `vfio-ts ls /dev/...`: the simulated /dev (base/devfs.ts) listed as `ls -R` would show it: one line per node or
// directory below the path, indented by depth (the sysfs listing's format).
import type { Host } from '../base/host.js';
import { VfioError } from '../uapi/errno.js';

/** The nodes below `path` (a node itself lists as its own name); ENOENT when nothing is there. */
export function devfsList(host: Host, path: string): string[] {
  const base = path.replace(/\/+$/, '');
  const nodes = host.devfs.ls('/dev/');
  if (nodes.includes(base)) return [base.slice(base.lastIndexOf('/') + 1)];
  const below = nodes.filter((n) => n.startsWith(`${base}/`)).map((n) => n.slice(base.length + 1).split('/'));
  if (below.length === 0) {
    // /dev/vfio exists as long as the VFIO core does; only a name nobody made is ENOENT.
    if (base === '/dev' || base === '/dev/vfio') return [];
    throw new VfioError('ENOENT', `${path}: no such device node`);
  }
  const out: string[] = [];
  const seen = new Set<string>();
  for (const parts of below) {
    for (let depth = 0; depth < parts.length; depth++) {
      const key = parts.slice(0, depth + 1).join('/');
      if (seen.has(key)) continue;
      seen.add(key);
      const leaf = depth === parts.length - 1;
      out.push(`${'  '.repeat(depth)}${parts[depth] ?? ''}${leaf ? '' : '/'}`);
    }
  }
  return out;
}
