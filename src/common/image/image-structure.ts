import { crc32 } from 'node:zlib';
import { ImageFormat } from './image-format';

/** What a structural check found: whole, cut short, damaged, or a format it does not walk. */
export type Structure = 'complete' | 'truncated' | 'corrupt' | 'unchecked';

/**
 * Walks an image file's container without decoding any pixel: every segment, chunk or block must lie inside
 * the file, in the order the format requires, up to its end marker (JPEG EOI, PNG IEND, GIF trailer, the
 * RIFF size of WebP); PNG chunks must also match their CRC. A file cut anywhere lacks its end or has a
 * segment running past it, so truncation is caught by reading each byte once (a JPEG's entropy-coded data
 * is skipped with memchr for 0xFF), at about 1/100 of a decode. What it does not see: damage inside
 * compressed data that keeps the structure (a JPEG's Huffman codes, a PNG's deflate stream under a
 * recomputed CRC); libjpeg lets the first through with a warning too. TIFF (offsets anywhere in the file) is
 * 'unchecked': the caller decodes it instead.
 */
export function checkStructure(data: Buffer, format: ImageFormat): Structure {
  switch (format) {
    case 'jpeg':
      return jpeg(data);
    case 'png':
      return png(data);
    case 'webp':
      return webp(data);
    case 'gif':
      return gif(data);
    default:
      return 'unchecked';
  }
}

function jpeg(d: Buffer): Structure {
  let pos = 2; // after SOI
  let frame = false;
  let scan = false;
  for (;;) {
    if (pos >= d.length) return 'truncated';
    if (d[pos] !== 0xff) return 'corrupt';
    while (pos < d.length && d[pos] === 0xff) pos++; // fill bytes
    if (pos >= d.length) return 'truncated';
    const marker = d[pos++];
    if (marker === 0xd9) return frame && scan ? 'complete' : 'corrupt'; // EOI
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue; // no length
    if (marker === 0xd8 || marker === 0x00) return 'corrupt';
    if (pos + 2 > d.length) return 'truncated';
    const length = d.readUInt16BE(pos);
    if (length < 2) return 'corrupt';
    if (pos + length > d.length) return 'truncated';
    // SOF0-SOF15 but DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      frame = true;
    }
    pos += length;
    if (marker !== 0xda) continue;
    if (!frame) return 'corrupt'; // SOS before any frame header
    scan = true;
    // Entropy-coded data: runs until a 0xFF that is not a stuffed 0x00, a restart marker or a fill byte.
    for (;;) {
      const ff = d.indexOf(0xff, pos);
      if (ff < 0 || ff + 1 >= d.length) return 'truncated';
      const next = d[ff + 1];
      if (next === 0x00 || (next >= 0xd0 && next <= 0xd7)) pos = ff + 2;
      else if (next === 0xff) pos = ff + 1;
      else {
        pos = ff;
        break;
      }
    }
  }
}

/** PNG chunk types, as big-endian 32-bit numbers (shared by the other PNG readers of this folder). */
export const PNG_CHUNK = {
  IHDR: 0x49484452,
  IDAT: 0x49444154,
  IEND: 0x49454e44,
  tRNS: 0x74524e53,
  eXIf: 0x65584966,
} as const;
const { IHDR, IDAT, IEND } = PNG_CHUNK;

function png(d: Buffer): Structure {
  let pos = 8; // after the signature
  let chunks = 0;
  let idat = false;
  for (;;) {
    if (pos + 12 > d.length) return 'truncated';
    const length = d.readUInt32BE(pos);
    if (length > 0x7fffffff) return 'corrupt';
    if (pos + 12 + length > d.length) return 'truncated';
    const type = d.readUInt32BE(pos + 4);
    if (chunks++ === 0 && type !== IHDR) return 'corrupt';
    const crc = d.readUInt32BE(pos + 8 + length);
    if (crc32(d.subarray(pos + 4, pos + 8 + length)) !== crc) return 'corrupt';
    if (type === IDAT) idat = true;
    if (type === IEND) return idat ? 'complete' : 'corrupt';
    pos += 12 + length;
  }
}

function webp(d: Buffer): Structure {
  if (d.length < 12) return 'truncated';
  const end = 8 + d.readUInt32LE(4);
  if (end > d.length) return 'truncated';
  let pos = 12;
  let image = false;
  while (pos < end) {
    if (pos + 8 > end) return 'corrupt';
    const fourcc = d.toString('latin1', pos, pos + 4);
    const size = d.readUInt32LE(pos + 4);
    if (pos + 8 + size > end) return 'corrupt';
    if (fourcc === 'VP8 ' || fourcc === 'VP8L' || fourcc === 'ANMF') image = true;
    pos += 8 + size + (size & 1);
  }
  return image ? 'complete' : 'corrupt';
}

function gif(d: Buffer): Structure {
  if (d.length < 13) return 'truncated';
  let pos = 13 + colourTable(d[10]);
  let images = 0;
  const blocks = (): boolean => {
    // Data sub-blocks: a size byte, that many bytes, until a size of 0.
    for (;;) {
      if (pos >= d.length) return false;
      const size = d[pos++];
      if (size === 0) return true;
      pos += size;
    }
  };
  for (;;) {
    if (pos >= d.length) return 'truncated';
    const introducer = d[pos++];
    if (introducer === 0x3b) return images > 0 ? 'complete' : 'corrupt'; // trailer
    if (introducer === 0x21) {
      pos++; // the extension's label
      if (!blocks()) return 'truncated';
    } else if (introducer === 0x2c) {
      if (pos + 9 > d.length) return 'truncated';
      pos += 9 + colourTable(d[pos + 8]) + 1; // descriptor, local table, LZW code size
      if (!blocks()) return 'truncated';
      images++;
    } else {
      return 'corrupt';
    }
  }
}

function colourTable(flags: number): number {
  return flags & 0x80 ? 3 * (1 << ((flags & 0x07) + 1)) : 0;
}
