// kstrtoul(s, 0) (lib/kstrtox.c): the number parsing sysfs stores use (mdev remove, PCI reset, sriov_numvfs);
// one trailing newline is allowed.
import { VfioError } from '../uapi/errno.js';

/** Parses like kstrtoul with base 0 (0x hex, leading 0 octal, else decimal): EINVAL if malformed, ERANGE past 64 bits. */
export function kstrtoul(text: string): bigint {
  let s = text.endsWith('\n') ? text.slice(0, -1) : text;
  if (s.startsWith('+')) s = s.slice(1);
  let base = 10;
  if (/^0[xX]/.test(s)) {
    base = 16;
    s = s.slice(2);
  } else if (s.length > 1 && s.startsWith('0')) {
    base = 8;
    s = s.slice(1);
  }
  const digits = base === 16 ? /^[0-9a-fA-F]+$/ : base === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
  if (!digits.test(s)) throw new VfioError('EINVAL', `not a number: '${text.slice(0, 32)}'`);
  let v = 0n;
  for (const c of s) v = v * BigInt(base) + BigInt(parseInt(c, base));
  if (v > 0xffff_ffff_ffff_ffffn) throw new VfioError('ERANGE', 'number out of range');
  return v;
}

/** kstrtoul for a store whose value must fit `max` (kstrtou16 and friends): ERANGE above it. */
export function kstrtoulMax(text: string, max = Number.MAX_SAFE_INTEGER): number {
  const v = kstrtoul(text);
  if (v > BigInt(max)) throw new VfioError('ERANGE', `${text.trim().slice(0, 32)} is out of range`);
  return Number(v);
}
