// BAR registers that are 32 bits wide, as most PCIe function register files are: a read of 1, 2, 4 (or 8) bytes
// sees the bytes of the dword it falls in (the function answers a dword; the reader keeps its lanes), and only an
// aligned dword write reaches a register (a 64-bit doorbell arrives as two; anything else is dropped, as these
// functions do). Used by the DMA engine, the ConnectX VF and the HiSilicon PF and VF.

/** Fills `out` with the bytes at `offset` of the dword register whose value is `v` (read at `offset & ~3`). */
export function dwordRegBytes(v: number, offset: number, out: Uint8Array): void {
  const lane = offset & 3;
  for (let i = 0; i < out.length; i++) out[i] = (v >>> (8 * ((lane + i) & 3))) & 0xff;
}

/** The value of an aligned dword write, or -1 for any other write (the register file ignores it). */
export function dwordRegWriteValue(offset: number, data: Uint8Array): number {
  if (data.length !== 4 || (offset & 3) !== 0) return -1;
  return (data[0]! | (data[1]! << 8) | (data[2]! << 16) | (data[3]! << 24)) >>> 0;
}
