// An FBA disk (fixed-block architecture, IBM 9336-like) behind a subchannel, over a memfd or an image file. The
// kernel's driver is drivers/s390/block/dasd_fba.c: LOCATE (0x43) names the operation, block count and first
// block; the READ (0x42) or WRITE (0x41) that follows moves those blocks. SENSE ID, SENSE and NOP as every device.
import { openSync } from 'node:fs';
import { z } from 'zod';
import { close, memfdCreate, pread, pwrite } from '../../native/index.js';
import { VfioError } from '../../uapi/errno.js';
import { CCW_CMD_BASIC_SENSE, CCW_CMD_NOOP, CCW_CMD_SENSE_ID } from '../../uapi/s390-cio.js';
import { DS_CHECK, DS_OK, SENSE_CMD_REJECT, SENSE_FILE_PROTECTED, senseIdBytes } from './ccw-device.js';
import type { CcwCommandResult, CcwDeviceModel } from './ccw-device.js';

export const FBA_BLOCK_SIZE = 512;
export const FBA_CMD_WRITE = 0x41;
export const FBA_CMD_READ = 0x42;
export const FBA_CMD_LOCATE = 0x43;
/** LOCATE operation codes (byte 0 of its 8 parameter bytes). */
export const FBA_LOCATE_WRITE = 0x01;
export const FBA_LOCATE_READ = 0x02;
export const FBA_STATE_VERSION = 1;

export interface FbaDiskOptions {
  /** Size in 512-byte blocks (memfd backing; an image's size is its file's). */
  readonly blocks?: number;
  /** An image file to use instead of a memfd. */
  readonly image?: string;
  readonly readOnly?: boolean;
}

interface Located {
  readonly op: number;
  readonly block: number;
  readonly count: number;
}

const fbaRecord = z.object({
  version: z.literal(FBA_STATE_VERSION),
  located: z.object({ op: z.int(), block: z.int(), count: z.int() }).nullable(),
  sense: z.array(z.int().min(0).max(255)).length(32),
});

export class FbaDisk implements CcwDeviceModel {
  readonly model = 'fba-disk';
  readonly blocks: number;
  readonly readOnly: boolean;
  private fd: number;
  private located: Located | null = null;
  private senseData = new Uint8Array(32);

  constructor(opts: FbaDiskOptions = {}) {
    this.readOnly = opts.readOnly ?? false;
    if (opts.image !== undefined) {
      this.fd = openSync(opts.image, this.readOnly ? 'r' : 'r+');
      const probe = new Uint8Array(FBA_BLOCK_SIZE);
      let n = 0;
      while (pread(this.fd, probe, n * FBA_BLOCK_SIZE) === FBA_BLOCK_SIZE) n++;
      this.blocks = n;
    } else {
      this.blocks = opts.blocks ?? 2048;
      this.fd = memfdCreate('fba-disk', this.blocks * FBA_BLOCK_SIZE);
    }
  }

  senseId(): Uint8Array {
    // 6310 control unit, 9336 model 10 device: what dasd_fba binds.
    return senseIdBytes(0x6310, 0x80, 0x9336, 0x10);
  }

  sense(): Uint8Array {
    const s = this.senseData;
    this.senseData = new Uint8Array(32);
    return s;
  }

  private check(byte0: number): CcwCommandResult {
    this.senseData = new Uint8Array(32);
    this.senseData[0] = byte0;
    this.located = null;
    return { dstat: DS_CHECK };
  }

  output(cmd: number, data: Uint8Array): CcwCommandResult {
    if (cmd === CCW_CMD_NOOP) return { dstat: DS_OK };
    if (cmd === FBA_CMD_LOCATE) {
      if (data.length < 8) return this.check(SENSE_CMD_REJECT);
      const dv = new DataView(data.buffer, data.byteOffset, 8);
      const loc = { op: dv.getUint8(0), count: dv.getUint16(2), block: dv.getUint32(4) };
      if ((loc.op !== FBA_LOCATE_READ && loc.op !== FBA_LOCATE_WRITE) || loc.count === 0 || loc.block + loc.count > this.blocks) {
        return this.check(SENSE_CMD_REJECT);
      }
      if (loc.op === FBA_LOCATE_WRITE && this.readOnly) return this.check(SENSE_FILE_PROTECTED);
      this.located = loc;
      return { dstat: DS_OK, accepted: 8 };
    }
    if (cmd === FBA_CMD_WRITE) {
      const loc = this.located;
      if (loc === null || loc.op !== FBA_LOCATE_WRITE) return this.check(SENSE_CMD_REJECT);
      const len = Math.min(data.length, loc.count * FBA_BLOCK_SIZE);
      this.io(pwrite, data.subarray(0, len), loc.block);
      this.located = null;
      return { dstat: DS_OK, accepted: len };
    }
    return this.check(SENSE_CMD_REJECT);
  }

  input(cmd: number, max: number): CcwCommandResult {
    if (cmd === CCW_CMD_SENSE_ID) return { dstat: DS_OK, data: this.senseId() };
    if (cmd === CCW_CMD_BASIC_SENSE) return { dstat: DS_OK, data: this.sense() };
    if (cmd === FBA_CMD_READ) {
      const loc = this.located;
      if (loc === null || loc.op !== FBA_LOCATE_READ) return this.check(SENSE_CMD_REJECT);
      const data = new Uint8Array(Math.min(max, loc.count * FBA_BLOCK_SIZE));
      if (data.length > 0) this.io(pread, data, loc.block);
      this.located = null;
      return { dstat: DS_OK, data };
    }
    return this.check(SENSE_CMD_REJECT);
  }

  private io(call: (fd: number, buf: Uint8Array, pos: number) => number, buf: Uint8Array, block: number): void {
    const n = call(this.fd, buf, block * FBA_BLOCK_SIZE);
    if (n < 0) throw new VfioError('EIO', `fba-disk: errno ${-n}`);
  }

  /** Reads blocks directly (the machine's console: tests and tools look at the disk). */
  readBlocks(block: number, count: number): Uint8Array {
    const out = new Uint8Array(count * FBA_BLOCK_SIZE);
    this.io(pread, out, block);
    return out;
  }

  writeBlocks(block: number, data: Uint8Array): void {
    this.io(pwrite, data, block);
  }

  bindReady(): void {
    // Every command completes at once: nothing to wait for.
  }

  cancel(): void {
    this.located = null;
  }

  save(): object {
    return { version: FBA_STATE_VERSION, located: this.located, sense: [...this.senseData] };
  }

  load(record: unknown): void {
    const r = fbaRecord.safeParse(record);
    if (!r.success) throw new VfioError('EINVAL', 'fba-disk: bad state record');
    this.located = r.data.located;
    this.senseData = Uint8Array.from(r.data.sense);
  }

  /** Closes the backing (the machine's teardown). Idempotent. */
  destroy(): void {
    if (this.fd >= 0) close(this.fd);
    this.fd = -1;
  }
}
