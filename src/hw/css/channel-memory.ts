// The channel subsystem's path to main storage: what a channel program's CCWs, IDAWs and data are read from and
// written to. The machine's owner supplies it per subchannel (vfio-ccw: its translated channel program and the
// pinned guest pages); hardware never sees VFIO. Faults are VfioErrors the channel turns into check status.
export interface ChannelMemory {
  /** Fills `out` from storage at `addr`; throws (EFAULT, EINVAL...) on an address it cannot reach. */
  read(addr: bigint, out: Uint8Array): void;
  /** Stores `data` at `addr`; throws on an address it cannot reach (EPERM: storage protection). */
  write(addr: bigint, data: Uint8Array): void;
}

/** A flat storage of `size` bytes at address 0 (tests and stand-alone machines). */
export class FlatChannelMemory implements ChannelMemory {
  readonly bytes: Uint8Array;

  constructor(size: number) {
    this.bytes = new Uint8Array(size);
  }

  private range(addr: bigint, len: number): number {
    if (addr < 0n || addr + BigInt(len) > BigInt(this.bytes.length)) throw new RangeError(`storage address 0x${addr.toString(16)} out of range`);
    return Number(addr);
  }

  read(addr: bigint, out: Uint8Array): void {
    const at = this.range(addr, out.length);
    out.set(this.bytes.subarray(at, at + out.length));
  }

  write(addr: bigint, data: Uint8Array): void {
    this.bytes.set(data, this.range(addr, data.length));
  }
}
