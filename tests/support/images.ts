import * as bmp from 'bmp-js';
import sharp from 'sharp';
import { crc32, deflateSync } from 'node:zlib';

/** Image fixtures made by code (no committed binaries). */

export function solid(width: number, height: number, rgb: [number, number, number] = [255, 255, 255]) {
  return sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } });
}

/** One PNG chunk: length, type, data, CRC-32 of type + data. */
export function pngChunk(type: string, data: Buffer): Buffer {
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
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(rows, { level: 9 })),
    pngChunk('IEND', Buffer.alloc(0)),
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
