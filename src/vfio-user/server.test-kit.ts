// Test support for the vfio-user tests: a small emulated PCI device (pci-emu) registered on a fresh host,
// a server exporting it in a temp dir, raw-socket helpers and an fd counter.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as native from '../native/index.js';
import { VFIO_REGION_INFO_FLAG_READ, VFIO_REGION_INFO_FLAG_WRITE } from '../uapi/region-info.js';
import { VFIO_MIGRATION_STOP_COPY } from '../uapi/migration.js';
import { VfioError } from '../uapi/errno.js';
import { allocDevice, putVfioDevice } from '../vfio/vfio-device.js';
import { registerEmulatedIommuDev, unregisterGroupDev } from '../vfio/registration.js';
import { makeHost, makeParent } from '../vfio/recording-ops.test-kit.js';
import type { VfioDeviceOps } from '../vfio/vfio-ops.js';
import type { Host } from '../base/host.js';
import {
  VfioPciEmuDevice,
  pciEmuInit,
  pciEmuMigrationInit,
  pciEmuMigrationOps,
  pciEmuOps,
  pciEmuSetRegion,
} from '../emu/index.js';
import { VfioUserServer, type VfioUserServerOptions } from './server.js';
import {
  VFIO_USER_F_TYPE_MASK,
  VFIO_USER_HDR_SIZE,
  VFIO_USER_VERSION,
  createHeader,
  encodeCommand,
  encodeVersion,
  readHeader,
  type VfioUserHeader,
} from './protocol/index.js';
import { QEMU_CAPABILITIES_JSON } from './client.js';

/** A device with a 4 KiB register BAR0, an mmappable memfd BAR2, one virtual MSI vector, REQ, and migration. */
export class VfioUserTestDev extends VfioPciEmuDevice {
  bar0 = new Uint8Array(4096);
  bar2Fd = -1;
  /** Bytes in BAR0 written since open: the device's "work". */
  writes = 0;
}

const R = VFIO_REGION_INFO_FLAG_READ;
const W = VFIO_REGION_INFO_FLAG_WRITE;

export const testDevOps: VfioDeviceOps<VfioUserTestDev> = Object.freeze({
  ...pciEmuOps,
  ...pciEmuMigrationOps,
  name: 'vfio-user-test',
  init(dev: VfioUserTestDev) {
    pciEmuInit(dev, {
      ids: { vendor: 0x1b36, device: 0x0099, classCode: 0xff00 },
      bars: [
        { index: 0, kind: 'mem32', size: 4096 },
        { index: 2, kind: 'mem32', size: 4096 },
      ],
      virtualMsiVectors: 1,
    });
    pciEmuSetRegion(dev, 0, {
      size: 4096,
      flags: R | W,
      read: (off, buf) => buf.set(dev.bar0.subarray(off, off + buf.length)),
      write: (off, buf) => {
        dev.bar0.set(buf, off);
        dev.writes++;
      },
    });
    dev.bar2Fd = native.memfdCreate('vfio-user-test-bar2', 4096);
    pciEmuSetRegion(dev, 2, { size: 4096, flags: R | W, mmap: { fd: dev.bar2Fd, offset: 0 } });
    pciEmuMigrationInit(dev, {
      device: 'vfio-user-test',
      version: 1,
      flags: VFIO_MIGRATION_STOP_COPY,
      save: () => ({ bar0: Buffer.from(dev.bar0.subarray(0, 64)).toString('hex') }),
      load: (s: unknown) => {
        if (typeof s !== 'object' || s === null || !('bar0' in s) || typeof s.bar0 !== 'string') throw new VfioError('EINVAL', 'bad state');
        dev.bar0.set(Buffer.from(s.bar0, 'hex'), 0);
      },
    });
  },
  release(dev: VfioUserTestDev) {
    if (dev.bar2Fd >= 0) native.close(dev.bar2Fd); // balances the memfdCreate in init
    dev.bar2Fd = -1;
  },
});

export interface TestBed {
  readonly host: Host;
  readonly dir: string;
  readonly server: VfioUserServer;
  readonly devices: VfioUserTestDev[];
  /** Socket path of device i. */
  path(i?: number): string;
  /** Adds and exports another device (with other ops than the bed's, if given). */
  addDevice(ops?: VfioDeviceOps<VfioUserTestDev>, cls?: new () => VfioUserTestDev): Promise<VfioUserTestDev>;
  /** Unregisters and puts device i (after its clients let go). */
  removeDevice(i: number): Promise<void>;
  close(): Promise<void>;
}

/** A host with `n` exported test devices (made with `ops`) in a fresh temp dir. */
export async function testBed(
  n = 1,
  opts: Partial<VfioUserServerOptions> = {},
  ops: VfioDeviceOps<VfioUserTestDev> = testDevOps,
  cls: new () => VfioUserTestDev = VfioUserTestDev,
): Promise<TestBed> {
  const { host } = makeHost('tb-parent', 20);
  const dir = mkdtempSync(join(tmpdir(), 'vfio-user-'));
  const server = new VfioUserServer({ ...opts });
  const devices: VfioUserTestDev[] = [];
  const removed = new Set<number>();
  const bed: TestBed = {
    host,
    dir,
    server,
    devices,
    path: (i = 0) => join(dir, `dev${i}.sock`),
    async addDevice(devOps = ops, devCls = cls) {
      const i = devices.length;
      const dev = allocDevice(devCls, makeParent(host, `tb${i}`), devOps);
      registerEmulatedIommuDev(dev);
      devices.push(dev);
      await server.export(dev, bed.path(i));
      return dev;
    },
    async removeDevice(i) {
      const dev = devices[i];
      if (dev === undefined || removed.has(i)) return;
      removed.add(i);
      server.unexport(dev);
      await unregisterGroupDev(dev, { requestIntervalMs: 10 });
      putVfioDevice(dev);
    },
    async close() {
      await server.close();
      for (let i = 0; i < devices.length; i++) await bed.removeDevice(i);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  for (let i = 0; i < n; i++) await bed.addDevice();
  return bed;
}

export { openFdCount } from '../native/fd.test-kit.js';

/** Waits until `cond()` or fails after `ms`. */
export async function waitFor(cond: () => boolean, ms = 2000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/**
 * A raw client socket for byte-exact tests: send bytes (and fds), read whole messages back with the
 * event loop running (the server lives in this process).
 */
export class RawClient {
  readonly fd: number;
  #buf = Buffer.alloc(0);
  #fds: number[] = [];
  #closed = false;

  constructor(path: string) {
    this.fd = native.unixConnect(path);
  }

  send(bytes: Uint8Array, fds?: readonly number[]): void {
    const n = native.sendmsg(this.fd, bytes, fds);
    if (n !== bytes.length) throw new Error(`short send ${n}`);
  }

  /** Sends all of `bytes`, waiting while the socket is full (the server may still be reading a flood). */
  async sendAll(bytes: Uint8Array, ms = 20_000): Promise<void> {
    const end = Date.now() + ms;
    for (let off = 0; off < bytes.length; ) {
      const n = native.sendmsg(this.fd, bytes.subarray(off));
      if (n > 0) off += n;
      else if (n !== -native.EAGAIN) throw new Error(`send failed with errno ${-n} after ${off} of ${bytes.length} bytes`);
      else if (Date.now() > end) throw new Error(`the server stopped reading after ${off} of ${bytes.length} bytes`);
      else await new Promise((r) => setTimeout(r, 1));
    }
  }

  /** Sends VERSION with QEMU's caps and checks the reply. */
  async handshake(): Promise<void> {
    this.send(encodeCommand(0, VFIO_USER_VERSION, encodeVersion(0, 0, QEMU_CAPABILITIES_JSON)));
    const m = await this.next();
    if (m.header.errorNo !== 0) throw new Error(`VERSION failed with ${m.header.errorNo}`);
  }

  /** The next whole message, with any fds that came (the caller owns them). */
  async next(ms = 2000): Promise<{ header: VfioUserHeader; payload: Buffer; fds: number[] }> {
    const end = Date.now() + ms;
    const fdsOut = new Int32Array(32);
    const chunk = Buffer.alloc(1 << 20);
    for (;;) {
      if (this.#buf.length >= VFIO_USER_HDR_SIZE) {
        const header = readHeader(this.#buf, 0, createHeader());
        if (this.#buf.length >= header.msgSize && header.msgSize >= VFIO_USER_HDR_SIZE) {
          const payload = Buffer.from(this.#buf.subarray(VFIO_USER_HDR_SIZE, header.msgSize));
          this.#buf = this.#buf.subarray(header.msgSize);
          const fds = this.#fds;
          this.#fds = [];
          return { header, payload, fds };
        }
      }
      const n = native.recvmsg(this.fd, chunk, 0, chunk.length, fdsOut);
      if (n > 0) {
        this.#buf = Buffer.concat([this.#buf, chunk.subarray(0, n)]);
        for (let i = 1; i <= (fdsOut[0] ?? 0); i++) this.#fds.push(fdsOut[i] ?? -1);
        continue;
      }
      if (n === 0) throw new Error('EOF');
      if (Date.now() > end) throw new Error('timed out waiting for a message');
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  /** The next `n` whole messages (fds closed), read in bulk: for tests that pipeline many requests. */
  async many(n: number, ms = 10_000): Promise<{ header: VfioUserHeader; payload: Buffer }[]> {
    const end = Date.now() + ms;
    const fdsOut = new Int32Array(32);
    const chunk = Buffer.alloc(1 << 20);
    const out: { header: VfioUserHeader; payload: Buffer }[] = [];
    let all: Buffer = this.#buf;
    let pos = 0;
    for (;;) {
      while (out.length < n && all.length - pos >= VFIO_USER_HDR_SIZE) {
        const header = readHeader(all, pos, createHeader());
        if (header.msgSize < VFIO_USER_HDR_SIZE || all.length - pos < header.msgSize) break;
        out.push({ header, payload: Buffer.from(all.subarray(pos + VFIO_USER_HDR_SIZE, pos + header.msgSize)) });
        pos += header.msgSize;
      }
      if (out.length === n) break;
      const k = native.recvmsg(this.fd, chunk, 0, chunk.length, fdsOut);
      for (let i = 1; i <= (fdsOut[0] ?? 0); i++) native.close(fdsOut[i] ?? -1);
      if (k > 0) {
        all = Buffer.concat([all.subarray(pos), chunk.subarray(0, k)]);
        pos = 0;
        continue;
      }
      if (k === 0) throw new Error(`EOF after ${out.length} of ${n} messages`);
      if (Date.now() > end) throw new Error(`timed out after ${out.length} of ${n} messages`);
      await new Promise((r) => setTimeout(r, 1));
    }
    this.#buf = Buffer.from(all.subarray(pos));
    return out;
  }

  /** Resolves true when the server closed the connection (EOF) within `ms`. */
  async eof(ms = 2000): Promise<boolean> {
    const end = Date.now() + ms;
    const fdsOut = new Int32Array(32);
    const chunk = Buffer.alloc(65536);
    for (;;) {
      const n = native.recvmsg(this.fd, chunk, 0, chunk.length, fdsOut);
      if (n === 0 || (n < 0 && n !== -native.EAGAIN)) return true;
      for (let i = 1; i <= (fdsOut[0] ?? 0); i++) native.close(fdsOut[i] ?? -1);
      if (Date.now() > end) return false;
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const fd of this.#fds) native.close(fd);
    native.close(this.fd);
  }
}

/** The message type bits of a header. */
export function typeOf(h: VfioUserHeader): number {
  return h.flags & VFIO_USER_F_TYPE_MASK;
}
