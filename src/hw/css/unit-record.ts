// A unit-record device: a 3215-style console (drivers/s390/char/con3215.c drives the real one). WRITE (0x01) and
// WRITE-with-carriage-return (0x09) print; READ (0x0a, and 0x02) return the next input line, and with none typed
// yet the command waits (device active) until one is: the operation a halt or clear is for.
import { z } from 'zod';
import { VfioError } from '../../uapi/errno.js';
import { CCW_CMD_BASIC_SENSE, CCW_CMD_NOOP, CCW_CMD_SENSE_ID } from '../../uapi/s390-cio.js';
import { CCW_DEVICE_WAIT, DS_CHECK, DS_OK, SENSE_CMD_REJECT, senseIdBytes } from './ccw-device.js';
import type { CcwCommandResult, CcwDeviceModel } from './ccw-device.js';

export const CON_CMD_WRITE = 0x01;
export const CON_CMD_WRITE_CR = 0x09;
export const CON_CMD_READ_INQ = 0x0a;
export const CON_CMD_READ = 0x02;
export const UNIT_RECORD_STATE_VERSION = 1;

const consoleRecord = z.object({
  version: z.literal(UNIT_RECORD_STATE_VERSION),
  input: z.array(z.array(z.int().min(0).max(255))),
  sense: z.array(z.int().min(0).max(255)).length(32),
});

export class UnitRecordConsole implements CcwDeviceModel {
  readonly model = 'unit-record';
  /** What programs wrote, in order. */
  readonly printed: Uint8Array[] = [];
  private readonly inputLines: Uint8Array[] = [];
  private senseData = new Uint8Array(32);
  private ready: (() => void) | null = null;
  /** Called with each line written (the operator's screen). */
  onOutput: ((line: Uint8Array) => void) | null = null;

  senseId(): Uint8Array {
    return senseIdBytes(0x3215, 0x01, 0x0000, 0x00);
  }

  sense(): Uint8Array {
    const s = this.senseData;
    this.senseData = new Uint8Array(32);
    return s;
  }

  /** The operator types a line: a waiting read completes. */
  pushInput(line: Uint8Array): void {
    this.inputLines.push(Uint8Array.from(line));
    this.ready?.();
  }

  output(cmd: number, data: Uint8Array): CcwCommandResult {
    if (cmd === CCW_CMD_NOOP) return { dstat: DS_OK };
    if (cmd === CON_CMD_WRITE || cmd === CON_CMD_WRITE_CR) {
      const line = Uint8Array.from(data);
      this.printed.push(line);
      this.onOutput?.(line);
      return { dstat: DS_OK };
    }
    this.senseData = new Uint8Array(32);
    this.senseData[0] = SENSE_CMD_REJECT;
    return { dstat: DS_CHECK };
  }

  input(cmd: number, max: number): CcwCommandResult | typeof CCW_DEVICE_WAIT {
    if (cmd === CCW_CMD_SENSE_ID) return { dstat: DS_OK, data: this.senseId() };
    if (cmd === CCW_CMD_BASIC_SENSE) return { dstat: DS_OK, data: this.sense() };
    if (cmd === CON_CMD_READ_INQ || cmd === CON_CMD_READ) {
      const line = this.inputLines.shift();
      if (line === undefined) return CCW_DEVICE_WAIT;
      return { dstat: DS_OK, data: line.subarray(0, max) };
    }
    this.senseData = new Uint8Array(32);
    this.senseData[0] = SENSE_CMD_REJECT;
    return { dstat: DS_CHECK };
  }

  bindReady(ready: () => void): void {
    this.ready = ready;
  }

  cancel(): void {
    // A halted read keeps the typed lines: nothing was consumed.
  }

  save(): object {
    return { version: UNIT_RECORD_STATE_VERSION, input: this.inputLines.map((l) => [...l]), sense: [...this.senseData] };
  }

  load(record: unknown): void {
    const r = consoleRecord.safeParse(record);
    if (!r.success) throw new VfioError('EINVAL', 'unit-record: bad state record');
    this.inputLines.splice(0, this.inputLines.length, ...r.data.input.map((l) => Uint8Array.from(l)));
    this.senseData = Uint8Array.from(r.data.sense);
  }

  destroy(): void {
    this.ready = null;
    this.onOutput = null;
  }
}
