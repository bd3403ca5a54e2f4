// VFIO_DEVICE_FEATURE in the core: framing and PROBE, MIGRATION/MIG_DATA_SIZE, MIG_DEVICE_STATE arc by arc with a
// full migration round trip through data fds, failure to ERROR, data fd rules, and the registration-time checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VFIO_DEVICE_FEATURE, VFIO_DEVICE_RESET, VFIO_MIG_GET_PRECOPY_INFO } from '../uapi/ioctl.js';
import {
  VFIO_DEVICE_FEATURE_GET,
  VFIO_DEVICE_FEATURE_MIGRATION,
  VFIO_DEVICE_FEATURE_MIG_DATA_SIZE,
  VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE,
  VFIO_DEVICE_FEATURE_PROBE,
  VFIO_DEVICE_FEATURE_SET,
} from '../uapi/feature.js';
import {
  VFIO_MIGRATION_P2P,
  VFIO_MIGRATION_PRE_COPY,
  VFIO_MIGRATION_STOP_COPY,
  VfioDeviceMigState,
  vfioDeviceMigStateName,
} from '../uapi/migration.js';
import { VfioError } from '../uapi/errno.js';
import type { VfioDeviceOps, VfioMigrationFile } from './vfio-ops.js';
import { KitDev, errno, makeKit, openViaGroup, u32s, view } from './uapi.test-kit.js';
import { allocDevice, putVfioDevice } from './vfio-device.js';
import { registerEmulatedIommuDev } from './registration.js';
import { makeHost, recordingOps } from './recording-ops.test-kit.js';

const { ERROR, STOP, RUNNING, STOP_COPY, RESUMING } = VfioDeviceMigState;
const SET = VFIO_DEVICE_FEATURE_SET;
const GET = VFIO_DEVICE_FEATURE_GET;

/** A feature request: header + payload of `payload` bytes (argsz covers it all). */
function feature(id: number, op: number, payload = 8, argsz = 8 + payload): Uint8Array {
  const b = new Uint8Array(8 + payload);
  view(b).setUint32(0, argsz, true);
  view(b).setUint32(4, (op | id) >>> 0, true);
  return b;
}

function migState(op: number, state = 0): Uint8Array {
  const b = feature(VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, op);
  view(b).setUint32(8, state, true);
  return b;
}

/** A fake migrating driver: the device's state record is `value`; the stream is its 4 bytes. */
function migratingOps(arcs: string[], failOn?: number): Partial<Omit<VfioDeviceOps<KitDev>, 'name'>> {
  return {
    migrationGetState: (d) => d.state['mig'] ?? RUNNING,
    migrationGetDataSize: () => 4n,
    migrationSetState: (d, next) => {
      const cur = d.state['mig'] ?? RUNNING;
      arcs.push(`${vfioDeviceMigStateName(cur)}>${vfioDeviceMigStateName(next)}`);
      if (next === failOn) {
        d.state['mig'] = ERROR;
        throw new VfioError('EIO', 'arc failed and could not restore');
      }
      let f: VfioMigrationFile | null = null;
      if (cur === STOP && next === STOP_COPY) {
        const bytes = u32s(d.state['value'] ?? 0);
        let off = 0;
        f = {
          read(buf) {
            const n = Math.min(buf.length, bytes.length - off);
            buf.set(bytes.subarray(off, off + n));
            off += n;
            return n;
          },
          release: () => arcs.push('release:saving'),
        };
      }
      if (cur === STOP && next === RESUMING) {
        const got: number[] = [];
        d.state['pending'] = 0;
        f = {
          write(buf) {
            got.push(...buf);
            if (got.length >= 4) d.state['pending'] = new DataView(Uint8Array.from(got).buffer).getUint32(0, true);
            return buf.length;
          },
          release: () => arcs.push('release:resuming'),
        };
      }
      if (cur === RESUMING && next === STOP) d.state['value'] = d.state['pending'] ?? 0;
      d.state['mig'] = next;
      return f;
    },
    ioctl: (d, cmd) => {
      if (cmd !== VFIO_DEVICE_RESET) throw new VfioError('ENOTTY');
      d.state['mig'] = RUNNING;
      return 0;
    },
  };
}

test('framing: argsz, unknown flags, GET|SET without PROBE; PROBE answers without acting; ENOTTY without mig ops', async () => {
  const arcs: string[] = [];
  const k = makeKit({ ops: migratingOps(arcs), migrationFlags: VFIO_MIGRATION_STOP_COPY });
  const plain = k.addDevice('plain');
  const { device } = openViaGroup(k.proc, k.dev);
  const cases: [string, Uint8Array, string][] = [
    ['argsz < 8', u32s(7, GET | VFIO_DEVICE_FEATURE_MIGRATION), 'EINVAL'],
    ['unknown flag', u32s(16, (1 << 20) | GET | VFIO_DEVICE_FEATURE_MIGRATION, 0, 0), 'EINVAL'],
    ['GET|SET', u32s(16, GET | SET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, 0, 0), 'EINVAL'],
    ['short buffer', u32s(16), 'EFAULT'],
    ['payload too small', feature(VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, SET, 8, 12), 'EINVAL'],
    ['SET of a GET-only feature', feature(VFIO_DEVICE_FEATURE_MIGRATION, SET), 'EINVAL'],
    ['neither GET nor SET', feature(VFIO_DEVICE_FEATURE_MIGRATION, 0), 'EINVAL'],
    ['unknown feature, no device_feature op', feature(200, GET), 'EINVAL'],
  ];
  for (const [what, arg, code] of cases) assert.throws(() => k.proc.ioctl(device, VFIO_DEVICE_FEATURE, arg), errno(code as 'EINVAL'), what);
  assert.equal(k.proc.ioctl(device, VFIO_DEVICE_FEATURE, feature(VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, SET | GET | VFIO_DEVICE_FEATURE_PROBE)), 0);
  assert.deepEqual(arcs, [], 'PROBE did not act');
  const mig = feature(VFIO_DEVICE_FEATURE_MIGRATION, GET);
  k.proc.ioctl(device, VFIO_DEVICE_FEATURE, mig);
  assert.equal(view(mig).getBigUint64(8, true), BigInt(VFIO_MIGRATION_STOP_COPY));
  const size = feature(VFIO_DEVICE_FEATURE_MIG_DATA_SIZE, GET);
  k.proc.ioctl(device, VFIO_DEVICE_FEATURE, size);
  assert.equal(view(size).getBigUint64(8, true), 4n);
  const p = openViaGroup(k.proc, plain);
  for (const id of [VFIO_DEVICE_FEATURE_MIGRATION, VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, VFIO_DEVICE_FEATURE_MIG_DATA_SIZE]) {
    assert.throws(() => k.proc.ioctl(p.device, VFIO_DEVICE_FEATURE, feature(id, GET)), errno('ENOTTY'));
  }
  await k.done();
});

test('a migration round trip: RUNNING -> STOP_COPY (read the data fd), RESUMING on another device (write it), -> RUNNING', async () => {
  const arcs: string[] = [];
  const flags = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P;
  const k = makeKit({ ops: migratingOps(arcs), migrationFlags: flags });
  const dst = k.addDevice('dst', { ops: migratingOps(arcs), migrationFlags: flags });
  k.dev.state['value'] = 0xc0ffee;
  const a = openViaGroup(k.proc, k.dev);
  const b = openViaGroup(k.proc, dst);

  const save = migState(SET, STOP_COPY);
  assert.equal(k.proc.ioctl(a.device, VFIO_DEVICE_FEATURE, save), 0);
  assert.deepEqual(arcs.splice(0), ['RUNNING>RUNNING_P2P', 'RUNNING_P2P>STOP', 'STOP>STOP_COPY']);
  const dataFd = view(save).getInt32(12, true);
  assert.ok(dataFd > b.device, `data fd ${dataFd} is a new fd`);
  const stream: number[] = [];
  const chunk = new Uint8Array(3);
  for (let n = k.proc.read(dataFd, chunk); n > 0; n = k.proc.read(dataFd, chunk)) stream.push(...chunk.subarray(0, n));
  assert.throws(() => k.proc.pread(dataFd, chunk, 0), errno('ESPIPE'));
  assert.throws(() => k.proc.write(dataFd, chunk), errno('EINVAL'), 'a saving stream is not written');
  assert.throws(() => k.proc.ioctl(dataFd, VFIO_MIG_GET_PRECOPY_INFO, new Uint8Array(24)), errno('ENOTTY'));
  k.proc.close(dataFd);
  assert.deepEqual(arcs.splice(0), ['release:saving']);

  const resume = migState(SET, RESUMING);
  k.proc.ioctl(b.device, VFIO_DEVICE_FEATURE, resume);
  const inFd = view(resume).getInt32(12, true);
  assert.equal(inFd, dataFd, 'the lowest free fd again');
  k.proc.write(inFd, Uint8Array.from(stream.slice(0, 1)));
  k.proc.write(inFd, Uint8Array.from(stream.slice(1)));
  k.proc.close(inFd);
  const run = migState(SET, RUNNING);
  k.proc.ioctl(b.device, VFIO_DEVICE_FEATURE, run);
  assert.equal(view(run).getInt32(12, true), -1, 'no stream on the way to RUNNING');
  assert.deepEqual(arcs.splice(0), [
    'RUNNING>RUNNING_P2P', 'RUNNING_P2P>STOP', 'STOP>RESUMING', 'release:resuming', 'RESUMING>STOP', 'STOP>RUNNING_P2P', 'RUNNING_P2P>RUNNING',
  ]);
  assert.equal(dst.state['value'], 0xc0ffee);
  const get = migState(GET);
  k.proc.ioctl(b.device, VFIO_DEVICE_FEATURE, get);
  assert.deepEqual([view(get).getUint32(8, true), view(get).getInt32(12, true)], [RUNNING, -1]);
  await k.done();
});

test('a failed arc: data_fd -1, the driver reports ERROR, SET is EINVAL until VFIO_DEVICE_RESET', async () => {
  const arcs: string[] = [];
  const k = makeKit({ ops: migratingOps(arcs, STOP_COPY), migrationFlags: VFIO_MIGRATION_STOP_COPY });
  const { device } = openViaGroup(k.proc, k.dev);
  const req = migState(SET, STOP_COPY);
  view(req).setInt32(12, 1234, true);
  assert.throws(() => k.proc.ioctl(device, VFIO_DEVICE_FEATURE, req), errno('EIO'));
  assert.equal(view(req).getInt32(12, true), -1);
  const get = migState(GET);
  k.proc.ioctl(device, VFIO_DEVICE_FEATURE, get);
  assert.equal(view(get).getUint32(8, true), ERROR);
  assert.throws(() => k.proc.ioctl(device, VFIO_DEVICE_FEATURE, migState(SET, STOP)), errno('EINVAL'));
  k.proc.ioctl(device, VFIO_DEVICE_RESET);
  k.proc.ioctl(device, VFIO_DEVICE_FEATURE, get);
  assert.equal(view(get).getUint32(8, true), RUNNING);
  assert.throws(() => k.proc.ioctl(device, VFIO_DEVICE_FEATURE, migState(SET, 99)), errno('EINVAL'), 'no such state');
  assert.throws(() => k.proc.ioctl(device, VFIO_DEVICE_FEATURE, migState(SET, VfioDeviceMigState.PRE_COPY)), errno('EINVAL'), 'unsupported state');
  assert.equal(k.proc.fds().length, 3, 'no data fd leaked');
  await k.done();
});

test('registration: migration ops must be complete and declare STOP_COPY; log ops must be complete (EINVAL)', () => {
  const { parent } = makeHost();
  const bad: [string, Partial<Omit<VfioDeviceOps<KitDev>, 'name'>>, number][] = [
    ['no STOP_COPY', migratingOps([]), VFIO_MIGRATION_PRE_COPY],
    ['incomplete mig ops', { migrationSetState: () => null }, VFIO_MIGRATION_STOP_COPY],
    ['incomplete log ops', { logStart: () => 4096n }, 0],
  ];
  for (const [what, ops, flags] of bad) {
    const dev = allocDevice(KitDev, parent, Object.freeze({ ...ops, ...recordingOps<KitDev>([]) }));
    dev.migrationFlags = flags;
    assert.throws(() => registerEmulatedIommuDev(dev), errno('EINVAL'), what);
    assert.equal(dev.regState, 'unregistered');
    putVfioDevice(dev);
  }
});
