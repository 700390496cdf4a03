import * as bmp from 'bmp-js';
import sharp from 'sharp';
import { deflateSync } from 'node:zlib';

/** Image fixtures made by code (no committed binaries). */

export function solid(width: number, height: number, rgb: [number, number, number] = [255, 255, 255]) {
  return sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } });
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/**
 * A decompression bomb: a small, valid PNG whose header claims width×height pixels of grey, with a
 * zlib stream of zero rows (highly compressible) for the first few rows only.
 */
export function pngBomb(width = 50000, height = 50000): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // greyscale
  const rows = Buffer.alloc((width + 1) * 64); // a few rows of zeros; the rest is "missing"
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(rows, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A BMP (24-bit) of the given RGBA pixels, through bmp-js. */
export function bmpOf(width: number, height: number, rgba: Buffer): Buffer {
  const abgr = Buffer.alloc(rgba.length);
  for (let i = 0; i < rgba.length; i += 4) {
    abgr[i] = 255;
    abgr[i + 1] = rgba[i + 2];
    abgr[i + 2] = rgba[i + 1];
    abgr[i + 3] = rgba[i];
  }
  return bmp.encode({ data: abgr, width, height }).data;
}
