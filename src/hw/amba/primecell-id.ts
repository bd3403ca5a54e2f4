// The PrimeCell identification registers every AMBA peripheral carries in the last 32 bytes of its first window
// (ARM PrimeCell TRMs, "Peripheral and PrimeCell identification registers"): four peripheral ID bytes at
// size - 0x20 and four cell ID bytes at size - 0x10, one byte per 32-bit word.

/** AMBA_CID and CORESIGHT_CID (include/linux/amba/bus.h). */
export const AMBA_CID = 0xb105f00d;
export const CORESIGHT_CID = 0xb105900d;

/** The 32-bit word at `offset` (from the window's start) if it is one of the ID registers, else undefined. */
export function primecellIdRead(windowSize: number, periphid: number, cellid: number, offset: number): number | undefined {
  const rel = offset - (windowSize - 0x20);
  if (rel < 0 || rel >= 0x20 || (rel & 3) !== 0) return undefined;
  const i = rel >>> 2;
  const word = i < 4 ? periphid : cellid;
  return (word >>> ((i & 3) * 8)) & 0xff;
}
