// What the fuzzer feeds: every part of vfio-ts that parses bytes or text from outside. A target runs one input;
// the errors its edge is meant to give (VfioError, FramingError, ConfigError, BadRequestError) are the expected
// answers to bad input, anything else (a TypeError, a RangeError, an assertion) is a finding.
import { readFileSync } from 'node:fs';
import { ConfigError, parseConfig } from '../cli/config.js';
import { BadRequestError, decodeRequest } from '../cli/control-protocol.js';
import { DriverRegistry, builtinDrivers } from '../drivers/registry.js';
import * as uapi from '../uapi/index.js';
import { VfioError } from '../uapi/errno.js';
import * as proto from '../vfio-user/protocol/index.js';
import { Finding } from './finding.js';
import type { FuzzTarget } from './finding.js';
import { sessionTarget } from './session-target.js';
import { configSpaceTarget } from './config-space-target.js';

export { Finding } from './finding.js';
export type { FuzzTarget } from './finding.js';

type Fn = (...args: unknown[]) => unknown;

/** The module's functions named decode*, by name, sorted (the input's first byte picks one). */
function decoders(mod: object): [string, Fn][] {
  return Object.entries(mod)
    .filter((e): e is [string, Fn] => e[0].startsWith('decode') && typeof e[1] === 'function')
    .sort(([a], [b]) => a.localeCompare(b));
}

const UAPI_DECODERS = decoders(uapi);
const PROTO_DECODERS = decoders(proto);
const enc = new TextEncoder();
const dec = new TextDecoder();

/** Runs `fn` and lets only the errors in `expected` through as answers. */
function guard(target: string, expected: readonly (abstract new (...a: never[]) => unknown)[], fn: () => void): void {
  try {
    fn();
  } catch (err) {
    if (expected.some((E) => err instanceof E)) return;
    throw new Finding(target, err);
  }
}

const framer: FuzzTarget = {
  name: 'framer',
  maxLen: 4096,
  seeds: () => [
    proto.encodeCommand(1, proto.VFIO_USER_DEVICE_GET_INFO, proto.encodeDeviceInfoRequest()),
    proto.encodeCommand(2, proto.VFIO_USER_REGION_READ, proto.encodeRegionAccess(0, 7, 4)),
    Buffer.concat([proto.encodeCommand(3, proto.VFIO_USER_DMA_UNMAP, proto.encodeDmaUnmap({ flags: 0, address: 0x1000n, size: 0x1000n })), proto.encodeCommand(4, proto.VFIO_USER_DEVICE_RESET)]),
  ],
  // The first byte says where the stream is cut into reads; the rest is the stream.
  run: (input) =>
    guard('framer', [VfioError], () => {
      const cut = input[0] ?? 0;
      const stream = Buffer.from(input.subarray(1));
      const f = new proto.MessageFramer({ closeFd: () => {}, maxMessageSize: 1024 });
      for (let at = 0; at < stream.length; ) {
        const n = 1 + ((cut + at) % 97);
        f.push(stream.subarray(at, at + n));
        at += n;
        for (let m = f.next(); m !== undefined; m = f.next()) {
          if (m instanceof proto.FramingError && m.fatal) return;
        }
        if (f.buffered > 1024 + proto.VFIO_USER_HDR_SIZE) throw new Error(`framer holds ${f.buffered} bytes past its limit`);
      }
    }),
};

const vfioUser: FuzzTarget = {
  name: 'vfio-user-decoders',
  maxLen: 2048,
  seeds: () =>
    [
      proto.encodeDmaMap({ flags: 3, offset: 0n, address: 0x100000n, size: 0x1000n }),
      proto.encodeDmaUnmap({ flags: 0, address: 0x100000n, size: 0x1000n }),
      proto.encodeRegionAccess(0, 7, 4, Uint8Array.of(1, 2, 3, 4)),
      proto.encodeIrqSet(0x24, 0, 0, 1),
      proto.encodeDeviceFeature(0x10000, Uint8Array.of(1, 0, 0, 0)),
      proto.encodeMigDataRead(64),
    ].flatMap((p) => PROTO_DECODERS.map((_, i) => Uint8Array.from([i, 16, ...p]))),
  // Byte 0 picks the decoder, byte 1 the numbers it takes besides the payload (fd count, sizes).
  run: (input) =>
    guard('vfio-user-decoders', [VfioError], () => {
      const entry = PROTO_DECODERS[(input[0] ?? 0) % PROTO_DECODERS.length];
      if (entry === undefined) return;
      const n = input[1] ?? 0;
      entry[1](Buffer.from(input.subarray(2)), n, n);
    }),
};

const uapiDecoders: FuzzTarget = {
  name: 'uapi-decoders',
  maxLen: 1024,
  seeds: () =>
    [
      uapi.encodeVfioRegionInfo({ argsz: 32, flags: 3, index: 7, capOffset: 0, size: 256n, offset: 7n << 40n }),
      uapi.encodeVfioIrqSet({ argsz: 24, flags: 0x24, index: 0, start: 0, count: 1, data: new Uint8Array(4) }),
      uapi.encodeVfioIommuType1DmaMap({ argsz: 32, flags: 3, vaddr: 0x10000n, iova: 0x1000n, size: 0x1000n }),
    ].flatMap((p) => UAPI_DECODERS.map((_, i) => Uint8Array.from([i, ...p]))),
  run: (input) =>
    guard('uapi-decoders', [VfioError], () => {
      const entry = UAPI_DECODERS[(input[0] ?? 0) % UAPI_DECODERS.length];
      entry?.[1](Uint8Array.from(input.subarray(1)));
    }),
};

/** The registry the config target validates against (loaded once, before fuzzing). */
let registry: DriverRegistry | null = null;

export async function prepareTargets(): Promise<void> {
  registry ??= new DriverRegistry(await builtinDrivers());
}

const config: FuzzTarget = {
  name: 'serve-config',
  maxLen: 4096,
  seeds: () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const example = /```json\n([\s\S]*?)```/.exec(readme)?.[1] ?? '{"devices": []}';
    return [enc.encode(example), enc.encode('{"devices": [{"driver": "mtty", "type": "2", "ports": ["loopback", {"tcp": 4555}]}]}')];
  },
  run: (input) =>
    guard('serve-config', [ConfigError], () => {
      let json: unknown;
      try {
        json = JSON.parse(dec.decode(input));
      } catch {
        return;
      }
      if (registry === null) throw new Error('prepareTargets() first');
      parseConfig(json, '/srv/vfio', '/srv/vfio', registry);
    }),
};

const control: FuzzTarget = {
  name: 'control-protocol',
  maxLen: 1024,
  seeds: () =>
    ['{"id":1,"cmd":"status"}', '{"id":2,"cmd":"mdev-create","parent":"mtty","type":"2","uuid":"83b8f4f2-509f-382f-3c1e-e6bfe0fa1001"}', '{"id":3,"cmd":"bind","device":"0000:00:03.0","driver":"vfio-pci"}'].map((s) => enc.encode(s)),
  run: (input) =>
    guard('control-protocol', [BadRequestError], () => {
      decodeRequest(dec.decode(input));
    }),
};

export const FUZZ_TARGETS: readonly FuzzTarget[] = Object.freeze([framer, vfioUser, uapiDecoders, config, control, sessionTarget, configSpaceTarget]);
