// The whole vfio-user server as a fuzz target: each input is a session of messages (after VERSION) sent over a
// real socket to a live test device, with real fds attached as the input says (eventfds, sealed and unsealed
// memfds, a pipe, /dev/null). Whatever the server answers is fine; a finding is an exception escaping the server,
// a message left unanswered while the connection is up (a hang), the device still held once the client is gone,
// or an fd the session leaked.
import { openSync } from 'node:fs';
import * as native from '../native/index.js';
import * as proto from '../vfio-user/protocol/index.js';
import { RawClient, openFdCount, testBed, waitFor } from '../vfio-user/server.test-kit.js';
import type { TestBed } from '../vfio-user/server.test-kit.js';
import { Finding } from './finding.js';
import type { FuzzTarget } from './finding.js';

/** Messages per session, payload bytes per message: the mutator's inputs stay sessions, not floods. */
const MAX_MESSAGES = 24;
const MAX_PAYLOAD = 512;

interface SessionMessage {
  readonly cmd: number;
  /** Which fds go with it: bit 0 eventfd, 1 sealed memfd, 2 unsealed memfd, 3 a pipe's write end, 4 /dev/null. */
  readonly fdSel: number;
  readonly payload: Uint8Array;
}

/** The input as messages: per message a command byte, an fd selector byte, a u16 length and the payload. */
export function parseSession(input: Uint8Array): SessionMessage[] {
  const out: SessionMessage[] = [];
  for (let at = 0; at + 4 <= input.length && out.length < MAX_MESSAGES; ) {
    const len = Math.min(((input[at + 2] ?? 0) | ((input[at + 3] ?? 0) << 8)) % (MAX_PAYLOAD + 1), input.length - at - 4);
    out.push({ cmd: (input[at] ?? 0) % 20, fdSel: input[at + 1] ?? 0, payload: input.subarray(at + 4, at + 4 + len) });
    at += 4 + len;
  }
  return out;
}

/** Encodes messages as parseSession reads them (for seeds). */
export function encodeSession(msgs: readonly { cmd: number; fdSel?: number; payload?: Uint8Array }[]): Uint8Array {
  const parts: number[] = [];
  for (const m of msgs) {
    const p = m.payload ?? new Uint8Array(0);
    parts.push(m.cmd, m.fdSel ?? 0, p.length & 0xff, p.length >> 8, ...p);
  }
  return Uint8Array.from(parts);
}

function fdsFor(sel: number, owned: number[]): number[] {
  const fds: number[] = [];
  const keep = (fd: number): number => {
    owned.push(fd);
    fds.push(fd);
    return fd;
  };
  if (sel & 1) keep(native.eventfd(0, native.EFD_NONBLOCK));
  if (sel & 2) {
    const fd = keep(native.memfdCreate('fuzz-sealed', 65536, true));
    native.addSeals(fd, native.F_SEAL_SHRINK);
  }
  if (sel & 4) keep(native.memfdCreate('fuzz-plain', 65536));
  if (sel & 8) keep(openSync('/dev/null', 'w'));
  if (sel & 16) keep(openSync('/dev/zero', 'r'));
  return fds;
}

let bed: TestBed | null = null;
let escaped: unknown = null;

async function theBed(): Promise<TestBed> {
  if (bed === null) {
    bed = await testBed(1);
    process.on('uncaughtException', (err) => {
      escaped ??= err;
    });
  }
  return bed;
}

const u32 = (...v: number[]): Uint8Array => {
  const b = Buffer.alloc(v.length * 4);
  v.forEach((x, i) => b.writeUInt32LE(x >>> 0, i * 4));
  return b;
};

export const sessionTarget: FuzzTarget = {
  name: 'vfio-user-session',
  maxLen: 2048,
  seeds: () => [
    encodeSession([{ cmd: proto.VFIO_USER_DEVICE_GET_INFO, payload: u32(16, 0, 0, 0) }, { cmd: proto.VFIO_USER_DEVICE_GET_REGION_INFO, payload: u32(32, 0, 2, 0, 0, 0, 0, 0) }]),
    encodeSession([
      { cmd: proto.VFIO_USER_DMA_MAP, fdSel: 2, payload: proto.encodeDmaMap({ flags: 3, offset: 0n, address: 0x100000n, size: 0x10000n }) },
      { cmd: proto.VFIO_USER_REGION_WRITE, payload: proto.encodeRegionAccess(0, 0, 4, Uint8Array.of(1, 2, 3, 4)) },
      { cmd: proto.VFIO_USER_DMA_UNMAP, payload: proto.encodeDmaUnmap({ flags: 0, address: 0x100000n, size: 0x10000n }) },
    ]),
    encodeSession([{ cmd: proto.VFIO_USER_DEVICE_SET_IRQS, fdSel: 1, payload: proto.encodeIrqSet(0x24, 1, 0, 1) }, { cmd: proto.VFIO_USER_DEVICE_RESET }]),
    encodeSession([
      { cmd: proto.VFIO_USER_DEVICE_FEATURE, payload: proto.encodeDeviceFeature((1 << 17) | 2, u32(1, 0xffffffff)) },
      { cmd: proto.VFIO_USER_DEVICE_FEATURE, payload: proto.encodeDeviceFeature((1 << 17) | 2, u32(3, 0xffffffff)) },
      { cmd: proto.VFIO_USER_MIG_DATA_READ, payload: proto.encodeMigDataRead(64) },
    ]),
    encodeSession([{ cmd: proto.VFIO_USER_DMA_MAP, fdSel: 4, payload: proto.encodeDmaMap({ flags: 3, offset: 0n, address: 0x200000n, size: 0x10000n }) }]),
  ],
  async run(input) {
    const b = await theBed();
    const dev = b.devices[0];
    if (dev === undefined) throw new Error('the bed has no device');
    const baseline = openFdCount();
    const owned: number[] = [];
    const c = new RawClient(b.path(0));
    try {
      await c.handshake();
      const msgs = parseSession(input);
      let id = 1;
      for (const m of msgs) {
        c.send(proto.encodeCommand(id++, m.cmd, Buffer.from(m.payload)), fdsFor(m.fdSel, owned));
        try {
          const reply = await c.next(2000);
          for (const fd of reply.fds) native.close(fd);
        } catch (err) {
          // The server may close a connection that misbehaves: the session ends there.
          if (err instanceof Error && err.message === 'EOF') break;
          throw new Finding('vfio-user-session', new Error(`message ${id - 1} (command ${m.cmd}) got no reply: ${String(err)}`));
        }
      }
    } finally {
      native.close(c.fd);
      for (const fd of owned) native.close(fd);
    }
    try {
      await waitFor(() => dev.openCount === 0, 2000, 'the device to be let go');
      await waitFor(() => openFdCount() <= baseline, 2000, `fds back to ${baseline}`);
    } catch (err) {
      throw new Finding('vfio-user-session', err);
    }
    if (escaped !== null) {
      const e = escaped;
      escaped = null;
      throw new Finding('vfio-user-session', e);
    }
  },
  async close() {
    await bed?.close();
    bed = null;
  },
};
