// What an I/O device behind a subchannel implements for the channel (Principles of Operation ch. 15 "I/O
// operations"; the kernel's view is drivers/s390/cio/device*.c): one command at a time, data handed over whole
// (the channel gathers/scatters data-chained CCWs), device status back, sense data after a unit check.
import { DEV_STAT_CHN_END, DEV_STAT_DEV_END, DEV_STAT_UNIT_CHECK } from '../../uapi/s390-cio.js';

/** How a command ended: device status, and for input commands the bytes the device offers. */
export interface CcwCommandResult {
  readonly dstat: number;
  /** Input commands: the data (the channel stores at most the CCWs' count; a shorter answer leaves a residual). */
  readonly data?: Uint8Array;
  /** Output commands: bytes the device took (default all). */
  readonly accepted?: number;
}

/** The command cannot complete yet (a console read with no input): the channel retries when the device is ready. */
export const CCW_DEVICE_WAIT = 'wait';

export interface CcwDeviceModel {
  /** A short model name for sysfs and logs ('fba-disk', 'unit-record'). */
  readonly model: string;
  /** SENSE ID data: 0xff, cu type (2), cu model, dev type (2), dev model. */
  senseId(): Uint8Array;
  /** An output or control command (`cmd & 3` is 1 or 3) with its data. */
  output(cmd: number, data: Uint8Array): CcwCommandResult | typeof CCW_DEVICE_WAIT;
  /** An input command (read, sense; `cmd & 3` is 2, or `cmd & 0xf` is 4) for at most `max` bytes. */
  input(cmd: number, max: number): CcwCommandResult | typeof CCW_DEVICE_WAIT;
  /** The 32 sense bytes a SENSE (or the ECW) reports; a unit check sets them, a SENSE reads and clears them. */
  sense(): Uint8Array;
  /** Called by the channel: `ready()` when a waiting command may be retried. */
  bindReady(ready: () => void): void;
  /** Halt or clear: drop what the current command was waiting for. */
  cancel(): void;
  /** A versioned state record. */
  save(): object;
  load(record: unknown): void;
  /** Releases host resources (a memfd, a file) when the machine goes. */
  destroy?(): void;
}

export const DS_OK = DEV_STAT_CHN_END | DEV_STAT_DEV_END;
export const DS_CHECK = DEV_STAT_CHN_END | DEV_STAT_DEV_END | DEV_STAT_UNIT_CHECK;

/** Sense byte 0 bits (3990/FBA style). */
export const SENSE_CMD_REJECT = 0x80;
export const SENSE_INTERVENTION_REQ = 0x40;
export const SENSE_DATA_CHECK = 0x08;
export const SENSE_FILE_PROTECTED = 0x04;

/** Builds SENSE ID data. */
export function senseIdBytes(cuType: number, cuModel: number, devType: number, devModel: number): Uint8Array {
  return Uint8Array.of(0xff, cuType >> 8, cuType & 0xff, cuModel, devType >> 8, devType & 0xff, devModel, 0);
}
