// kstrtoul(s, 0) / kstrtou16 (lib/kstrtox.c) for the PCI sysfs stores. (src/mdev has its own copy; both
// belong in src/base once it has a home for them.)
import { VfioError } from '../../uapi/errno.js';

/** Base 0 (0x hex, leading 0 octal, else decimal), one trailing newline allowed: EINVAL if malformed, ERANGE above `max`. */
export function kstrtoul(text: string, max = Number.MAX_SAFE_INTEGER): number {
  const s = text.endsWith('\n') ? text.slice(0, -1) : text;
  const m = /^\+?(?:0[xX]([0-9a-fA-F]+)|0([0-7]*)|([1-9][0-9]*))$/.exec(s);
  if (m === null) throw new VfioError('EINVAL', `not a number: '${s.slice(0, 32)}'`);
  const v = m[1] !== undefined ? parseInt(m[1], 16) : m[2] !== undefined ? (m[2] === '' ? 0 : parseInt(m[2], 8)) : parseInt(m[3] ?? '', 10);
  if (!Number.isSafeInteger(v) || v > max) throw new VfioError('ERANGE', `${s.slice(0, 32)} is out of range`);
  return v;
}
