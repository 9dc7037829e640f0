/**
 * Draws the app icon, build/icon.png (512x512): an envelope on a blue tile
 * with a gold padlock, the product in one picture.
 *
 * Written with node:zlib only, so it runs anywhere Node does (no ImageMagick).
 * Shapes are signed-distance functions sampled 4x4 per pixel for smooth edges.
 * Run: node build/make-icon.mjs
 */

import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const SIZE = 512;
const SAMPLES = 4;

/** Distance to a rounded rectangle; negative inside. */
function roundedRect(x, y, left, top, right, bottom, radius) {
  const cx = (left + right) / 2;
  const cy = (top + bottom) / 2;
  const hx = (right - left) / 2 - radius;
  const hy = (bottom - top) / 2 - radius;
  const qx = Math.abs(x - cx) - hx;
  const qy = Math.abs(y - cy) - hy;
  const outside = Math.hypot(Math.max(qx, 0), Math.max(qy, 0));
  return outside + Math.min(Math.max(qx, qy), 0) - radius;
}

function circle(x, y, cx, cy, r) {
  return Math.hypot(x - cx, y - cy) - r;
}

/** Distance to a line segment thickened to `width`. */
function segment(x, y, ax, ay, bx, by, width) {
  const px = x - ax;
  const py = y - ay;
  const dx = bx - ax;
  const dy = by - ay;
  const t = Math.max(0, Math.min(1, (px * dx + py * dy) / (dx * dx + dy * dy)));
  return Math.hypot(px - t * dx, py - t * dy) - width / 2;
}

const union = (a, b) => Math.min(a, b);
const subtract = (a, b) => Math.max(a, -b);

const ENVELOPE = { left: 72, top: 132, right: 400, bottom: 364 };
const LOCK = { left: 292, top: 300, right: 460, bottom: 452, cx: 376 };

/** The layers, bottom to top: each a shape and a colour for a point. */
const layers = [
  {
    shape: (x, y) => roundedRect(x, y, 16, 16, 496, 496, 96),
    color: (x, y) => {
      const t = y / SIZE;
      return [Math.round(52 - 26 * t), Math.round(120 - 46 * t), Math.round(226 - 58 * t)];
    },
  },
  {
    shape: (x, y) => roundedRect(x, y, ENVELOPE.left, ENVELOPE.top, ENVELOPE.right, ENVELOPE.bottom, 20),
    color: () => [247, 249, 252],
  },
  {
    // The flap: two strokes from the top corners meeting below the middle.
    shape: (x, y) => {
      const mx = (ENVELOPE.left + ENVELOPE.right) / 2;
      const my = 262;
      const inside = roundedRect(x, y, ENVELOPE.left, ENVELOPE.top, ENVELOPE.right, ENVELOPE.bottom, 20);
      const flap = union(segment(x, y, ENVELOPE.left + 10, ENVELOPE.top + 10, mx, my, 14), segment(x, y, ENVELOPE.right - 10, ENVELOPE.top + 10, mx, my, 14));
      return Math.max(flap, inside + 4);
    },
    color: () => [176, 192, 222],
  },
  {
    // Shackle: the upper half of a ring, with legs down into the body.
    shape: (x, y) => {
      const ring = subtract(circle(x, y, LOCK.cx, LOCK.top, 58), circle(x, y, LOCK.cx, LOCK.top, 36));
      const upper = y <= LOCK.top ? ring : Infinity;
      const legs = union(
        roundedRect(x, y, LOCK.cx - 58, LOCK.top, LOCK.cx - 36, LOCK.top + 24, 0),
        roundedRect(x, y, LOCK.cx + 36, LOCK.top, LOCK.cx + 58, LOCK.top + 24, 0),
      );
      return union(upper, legs);
    },
    color: () => [92, 100, 116],
  },
  {
    shape: (x, y) => roundedRect(x, y, LOCK.left, LOCK.top + 16, LOCK.right, LOCK.bottom, 22),
    color: (x, y) => {
      const t = (y - LOCK.top) / (LOCK.bottom - LOCK.top);
      return [Math.round(250 - 20 * t), Math.round(196 - 34 * t), Math.round(60 - 20 * t)];
    },
  },
  {
    shape: (x, y) => union(circle(x, y, LOCK.cx, 366, 17), roundedRect(x, y, LOCK.cx - 7, 366, LOCK.cx + 7, 414, 5)),
    color: () => [110, 72, 8],
  },
];

function render() {
  const pixels = Buffer.alloc(SIZE * SIZE * 4);
  const step = 1 / SAMPLES;
  for (let py = 0; py < SIZE; py++) {
    for (let px = 0; px < SIZE; px++) {
      let r = 0;
      let g = 0;
      let b = 0;
      let a = 0;
      for (let sy = 0; sy < SAMPLES; sy++) {
        for (let sx = 0; sx < SAMPLES; sx++) {
          const x = px + (sx + 0.5) * step;
          const y = py + (sy + 0.5) * step;
          let cr = 0;
          let cg = 0;
          let cb = 0;
          let ca = 0;
          for (const layer of layers) {
            if (layer.shape(x, y) > 0) continue;
            [cr, cg, cb] = layer.color(x, y);
            ca = 1;
          }
          r += cr * ca;
          g += cg * ca;
          b += cb * ca;
          a += ca;
        }
      }
      const i = (py * SIZE + px) * 4;
      if (a > 0) {
        pixels[i] = Math.round(r / a);
        pixels[i + 1] = Math.round(g / a);
        pixels[i + 2] = Math.round(b / a);
      }
      pixels[i + 3] = Math.round((a / (SAMPLES * SAMPLES)) * 255);
    }
  }
  return pixels;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  let c = 0xffffffff;
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

function encodePng(rgba, width, height) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bits per channel
  header[9] = 6; // RGBA
  const stride = width * 4;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (stride + 1)] = 0; // filter: none
    rgba.copy(raw, y * (stride + 1) + 1, y * stride, (y + 1) * stride);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const out = fileURLToPath(new URL('./icon.png', import.meta.url));
writeFileSync(out, encodePng(render(), SIZE, SIZE));
console.log(`wrote ${out} (${SIZE}x${SIZE})`);
