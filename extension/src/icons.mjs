// The extension's icons (16, 32, 48 and 128 px), drawn at build time as real PNGs: a dark rounded
// square with three rising bars, the last one green — Scrollr's "up" colour. Each pixel is
// supersampled 4×4 for clean edges. Written with node's zlib (a PNG is a zlib stream of scanlines),
// so nothing binary is committed and no image library is needed.
import { deflateSync } from "node:zlib";

export const ICON_SIZES = [16, 32, 48, 128];
const BACKGROUND = [23, 27, 33];
const BAR = [124, 180, 251];
const UP = [52, 211, 153];
const SAMPLES = 4;
// In a 0..1 square: the bars' [left, right, top], all standing on the same baseline.
const BARS = [
  [0.2, 0.36, 0.58, BAR],
  [0.42, 0.58, 0.4, BAR],
  [0.64, 0.8, 0.2, UP],
];
const BASE = 0.8;
const RADIUS = 0.22;

function insideRoundedSquare(x, y) {
  const cx = Math.min(Math.max(x, RADIUS), 1 - RADIUS);
  const cy = Math.min(Math.max(y, RADIUS), 1 - RADIUS);
  return (x - cx) ** 2 + (y - cy) ** 2 <= RADIUS ** 2;
}

function colourAt(x, y) {
  if (!insideRoundedSquare(x, y)) return null;
  for (const [left, right, top, colour] of BARS) if (x >= left && x <= right && y >= top && y <= BASE) return colour;
  return BACKGROUND;
}

function pixels(size) {
  const rgba = Buffer.alloc(size * size * 4);
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      const sum = [0, 0, 0];
      let covered = 0;
      for (let sy = 0; sy < SAMPLES; sy++) {
        for (let sx = 0; sx < SAMPLES; sx++) {
          const colour = colourAt((px + (sx + 0.5) / SAMPLES) / size, (py + (sy + 0.5) / SAMPLES) / size);
          if (colour === null) continue;
          covered++;
          for (let c = 0; c < 3; c++) sum[c] += colour[c];
        }
      }
      const at = (py * size + px) * 4;
      for (let c = 0; c < 3; c++) rgba[at + c] = covered ? Math.round(sum[c] / covered) : 0;
      rgba[at + 3] = Math.round((255 * covered) / SAMPLES ** 2);
    }
  }
  return rgba;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** One icon as PNG bytes (8-bit RGBA, no interlace). */
export function iconPng(size) {
  const rgba = pixels(size);
  const rows = [];
  for (let y = 0; y < size; y++) rows.push(Buffer.from([0]), rgba.subarray(y * size * 4, (y + 1) * size * 4)); // filter 0
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 6, 0, 0, 0], 8); // 8 bits, RGBA, deflate, no filter method, no interlace
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk("IHDR", header), chunk("IDAT", deflateSync(Buffer.concat(rows))), chunk("IEND", Buffer.alloc(0))]);
}

/** The manifest's icon map: size → path in the built extension. */
export function iconPaths() {
  return Object.fromEntries(ICON_SIZES.map((size) => [String(size), `icons/${size}.png`]));
}
