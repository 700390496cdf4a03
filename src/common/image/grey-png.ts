import { inflateSync } from 'node:zlib';
import { checkStructure, PNG_CHUNK } from './image-structure';

export interface GreyPixels {
  data: Uint8Array;
  width: number;
  height: number;
}

const { IHDR, IDAT, IEND } = PNG_CHUNK;
/** Chunks that change what the pixels mean (transparency, an orientation): libvips decides then. */
const MEANINGFUL = new Set<number>([PNG_CHUNK.tRNS, PNG_CHUNK.eXIf]);

/**
 * Decodes a PNG of the one kind MNIST-style uploads are, 8-bit greyscale without transparency, not
 * interlaced, at most `maxSide` on both sides, straight to its pixels: values as stored, as libvips gives
 * them (no alpha to flatten, no colour to convert, nothing to resize). For a 28×28 digit that is a few
 * microseconds where a libvips pipeline costs about 1 ms. Returns undefined for any other PNG; a file that is
 * not whole (checkStructure: chunks, CRCs, IEND) or whose data does not inflate to exactly its rows is
 * 'corrupt'. The inflated size is capped by the header, so a zip bomb costs nothing.
 */
export function decodeGreyPng(d: Buffer, maxSide: number): GreyPixels | 'corrupt' | undefined {
  if (d.length < 33 || d.readUInt32BE(12) !== IHDR) return undefined;
  const width = d.readUInt32BE(16);
  const height = d.readUInt32BE(20);
  const [depth, colour, , , interlace] = [d[24], d[25], d[26], d[27], d[28]];
  if (depth !== 8 || colour !== 0 || interlace !== 0) return undefined;
  if (width === 0 || height === 0 || width > maxSide || height > maxSide) return undefined;
  if (checkStructure(d, 'png') !== 'complete') return 'corrupt';
  const parts: Buffer[] = [];
  for (let pos = 8; pos + 12 <= d.length;) {
    const length = d.readUInt32BE(pos);
    const type = d.readUInt32BE(pos + 4);
    if (MEANINGFUL.has(type)) return undefined;
    if (type === IDAT) parts.push(d.subarray(pos + 8, pos + 8 + length));
    if (type === IEND) break;
    pos += 12 + length;
  }
  const stride = width + 1; // a filter byte per row
  let raw: Buffer;
  try {
    raw = inflateSync(parts.length === 1 ? parts[0] : Buffer.concat(parts), {
      maxOutputLength: stride * height,
    });
  } catch {
    return 'corrupt';
  }
  if (raw.length !== stride * height) return 'corrupt';
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * stride];
    const src = y * stride + 1;
    const row = y * width;
    const up = row - width;
    if (filter > 4) return 'corrupt';
    for (let x = 0; x < width; x++) {
      const a = x > 0 ? out[row + x - 1] : 0;
      const b = y > 0 ? out[up + x] : 0;
      const c = x > 0 && y > 0 ? out[up + x - 1] : 0;
      let predicted = 0;
      if (filter === 1) predicted = a;
      else if (filter === 2) predicted = b;
      else if (filter === 3) predicted = (a + b) >> 1;
      else if (filter === 4) predicted = paeth(a, b, c);
      out[row + x] = (raw[src + x] + predicted) & 0xff;
    }
  }
  return { data: out, width, height };
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}
