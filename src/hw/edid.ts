// Generates and parses a 128-byte EDID 1.4 base block (VESA E-EDID; the role of QEMU hw/display/edid-generate.c).

import { check } from '../uapi/errno.js';

export const EDID_BLOCK_SIZE = 128;
export const EDID_HEADER = Object.freeze([0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00]);

/** What a generated EDID describes. */
export interface EdidOptions {
  /** Preferred (native) mode; each 1..4095 (the detailed timing fields are 12-bit). */
  width: number;
  height: number;
  refreshHz?: number;
  /** Three-letter PNP manufacturer id (A-Z). Default 'RHT', as QEMU's displays. */
  vendor?: string;
  productCode?: number;
  serial?: number;
  /** Monitor name descriptor, up to 13 ASCII characters. */
  name?: string;
  /** Pixel density used for the physical size fields. */
  dpi?: number;
}

/** The preferred mode as read back from the first detailed timing descriptor. */
export interface EdidMode {
  width: number;
  height: number;
  /** Pixel clock in kHz (the descriptor stores 10 kHz units). */
  pixelClockKHz: number;
  refreshHz: number;
}

const DTD_OFFSET = 54;
const DESCRIPTOR_SIZE = 18;

/** Blanking close to CVT reduced blanking: a fixed 160-pixel horizontal blank. */
function timings(width: number, height: number, refreshHz: number) {
  const hfront = 48;
  const hsync = 32;
  const hblank = 160;
  const vfront = 3;
  const vsync = 6;
  // At least 460 us of vertical blank, as CVT-RB requires, and never fewer than 23 lines.
  const lineUs = 1e6 / refreshHz / height;
  const vblank = Math.max(23, Math.ceil(460 / lineUs) + 1);
  const clock10k = Math.round(((width + hblank) * (height + vblank) * refreshHz) / 10_000);
  return { hfront, hsync, hblank, vfront, vsync, vblank, clock10k };
}

/** Returns a valid EDID 1.4 base block (bytes sum to 0 mod 256) for the preferred mode. */
export function generateEdid(opts: EdidOptions): Uint8Array {
  const { width, height } = opts;
  const refreshHz = opts.refreshHz ?? 60;
  check(Number.isInteger(width) && width >= 1 && width <= 4095, 'EINVAL', `EDID width ${width}`);
  check(Number.isInteger(height) && height >= 1 && height <= 4095, 'EINVAL', `EDID height ${height}`);
  check(Number.isInteger(refreshHz) && refreshHz >= 1 && refreshHz <= 255, 'EINVAL', `EDID refresh ${refreshHz}`);
  const vendor = opts.vendor ?? 'RHT';
  check(/^[A-Z]{3}$/.test(vendor), 'EINVAL', 'EDID vendor must be three letters A-Z');
  const name = opts.name ?? 'vfio-ts';
  check(/^[\x20-\x7e]{0,13}$/.test(name), 'EINVAL', 'EDID name must be up to 13 printable ASCII characters');
  const t = timings(width, height, refreshHz);
  check(t.clock10k <= 0xffff, 'EINVAL', `EDID pixel clock for ${width}x${height}@${refreshHz} exceeds 655.35 MHz`);

  const e = new Uint8Array(EDID_BLOCK_SIZE);
  const v = new DataView(e.buffer);
  e.set(EDID_HEADER, 0);
  const id = vendor.split('').reduce((acc, ch) => (acc << 5) | (ch.charCodeAt(0) - 64), 0);
  v.setUint16(8, id, false);
  v.setUint16(10, (opts.productCode ?? 0x1234) & 0xffff, true);
  v.setUint32(12, (opts.serial ?? 0) >>> 0, true);
  e[16] = 1; // week
  e[17] = 2024 - 1990; // year
  e[18] = 1; // version 1.4
  e[19] = 4;
  e[20] = 0xa5; // digital, 8 bits per colour, DisplayPort
  const dpi = opts.dpi ?? 100;
  const widthMm = Math.round((width * 25.4) / dpi);
  const heightMm = Math.round((height * 25.4) / dpi);
  e[21] = Math.min(255, Math.max(1, Math.round(widthMm / 10)));
  e[22] = Math.min(255, Math.max(1, Math.round(heightMm / 10)));
  e[23] = 120; // gamma 2.2
  e[24] = 0x06; // RGB 4:4:4, sRGB default, preferred timing is native
  writeChromaticity(e);
  // Established timings: 640x480@60, 800x600@60, 1024x768@60.
  e[35] = 0x21;
  e[36] = 0x08;
  for (let i = 38; i < 54; i++) e[i] = 0x01; // no standard timings

  writeDetailedTiming(e, DTD_OFFSET, width, height, t, widthMm, heightMm);
  writeRangeLimits(e, DTD_OFFSET + DESCRIPTOR_SIZE, width, refreshHz, t);
  writeName(e, DTD_OFFSET + 2 * DESCRIPTOR_SIZE, name);
  e[DTD_OFFSET + 3 * DESCRIPTOR_SIZE + 3] = 0x10; // dummy descriptor
  e[126] = 0; // no extensions
  e[127] = (256 - (e.subarray(0, 127).reduce((a, b) => a + b, 0) % 256)) % 256;
  return e;
}

/** Reads the preferred mode from an EDID base block; EINVAL if it is not a valid one. */
export function parseEdidPreferredMode(bytes: Uint8Array): EdidMode {
  check(bytes.length >= EDID_BLOCK_SIZE, 'EINVAL', `EDID of ${bytes.length} bytes`);
  check(EDID_HEADER.every((b, i) => bytes[i] === b), 'EINVAL', 'EDID header missing');
  check(bytes.subarray(0, EDID_BLOCK_SIZE).reduce((a, b) => a + b, 0) % 256 === 0, 'EINVAL', 'EDID checksum');
  const d = DTD_OFFSET;
  const at = (i: number): number => bytes[d + i] ?? 0;
  const clock10k = at(0) | (at(1) << 8);
  check(clock10k !== 0, 'EINVAL', 'EDID has no detailed timing descriptor first');
  const width = at(2) | ((at(4) >> 4) << 8);
  const hblank = at(3) | ((at(4) & 0x0f) << 8);
  const height = at(5) | ((at(7) >> 4) << 8);
  const vblank = at(6) | ((at(7) & 0x0f) << 8);
  const refreshHz = (clock10k * 10_000) / ((width + hblank) * (height + vblank));
  return { width, height, pixelClockKHz: clock10k * 10, refreshHz };
}

function writeChromaticity(e: Uint8Array): void {
  // sRGB primaries and D65 white point, as 10-bit binary fractions.
  const xy = [0.64, 0.33, 0.3, 0.6, 0.15, 0.06, 0.3127, 0.329].map((f) => Math.round(f * 1024));
  const [rx = 0, ry = 0, gx = 0, gy = 0, bx = 0, by = 0, wx = 0, wy = 0] = xy;
  e[25] = ((rx & 3) << 6) | ((ry & 3) << 4) | ((gx & 3) << 2) | (gy & 3);
  e[26] = ((bx & 3) << 6) | ((by & 3) << 4) | ((wx & 3) << 2) | (wy & 3);
  [rx, ry, gx, gy, bx, by, wx, wy].forEach((val, i) => (e[27 + i] = val >> 2));
}

function writeDetailedTiming(
  e: Uint8Array,
  o: number,
  width: number,
  height: number,
  t: ReturnType<typeof timings>,
  widthMm: number,
  heightMm: number,
): void {
  e[o] = t.clock10k & 0xff;
  e[o + 1] = t.clock10k >> 8;
  e[o + 2] = width & 0xff;
  e[o + 3] = t.hblank & 0xff;
  e[o + 4] = ((width >> 8) << 4) | (t.hblank >> 8);
  e[o + 5] = height & 0xff;
  e[o + 6] = t.vblank & 0xff;
  e[o + 7] = ((height >> 8) << 4) | (t.vblank >> 8);
  e[o + 8] = t.hfront & 0xff;
  e[o + 9] = t.hsync & 0xff;
  e[o + 10] = ((t.vfront & 0x0f) << 4) | (t.vsync & 0x0f);
  e[o + 11] = ((t.hfront >> 8) << 6) | ((t.hsync >> 8) << 4) | ((t.vfront >> 4) << 2) | (t.vsync >> 4);
  const wmm = Math.min(widthMm, 4095);
  const hmm = Math.min(heightMm, 4095);
  e[o + 12] = wmm & 0xff;
  e[o + 13] = hmm & 0xff;
  e[o + 14] = ((wmm >> 8) << 4) | (hmm >> 8);
  e[o + 15] = 0;
  e[o + 16] = 0;
  e[o + 17] = 0x1a; // digital separate sync, +hsync, -vsync (as CVT-RB)
}

function writeRangeLimits(
  e: Uint8Array,
  o: number,
  width: number,
  refreshHz: number,
  t: ReturnType<typeof timings>,
): void {
  const hfreqKHz = (t.clock10k * 10) / (width + t.hblank);
  e[o + 3] = 0xfd;
  e[o + 5] = Math.min(50, refreshHz);
  e[o + 6] = Math.max(125, refreshHz);
  e[o + 7] = Math.min(30, Math.floor(hfreqKHz));
  e[o + 8] = Math.min(255, Math.max(160, Math.ceil(hfreqKHz)));
  e[o + 9] = Math.min(255, Math.ceil((t.clock10k * 10) / 10_000)); // in 10 MHz units
  e[o + 10] = 0x01; // range limits only
  e[o + 11] = 0x0a;
  e.fill(0x20, o + 12, o + DESCRIPTOR_SIZE);
}

function writeName(e: Uint8Array, o: number, name: string): void {
  e[o + 3] = 0xfc;
  const text = name.length < 13 ? `${name}\n` : name;
  e.fill(0x20, o + 5, o + DESCRIPTOR_SIZE);
  for (let i = 0; i < text.length; i++) e[o + 5 + i] = text.charCodeAt(i);
}
