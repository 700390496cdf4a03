import { ImageFormat } from './image-format';
import { PNG_CHUNK } from './image-structure';

/** An image's size as a person sees it (EXIF orientation applied), read from its header. */
export interface ImageHeader {
  width: number;
  height: number;
}

/**
 * Reads the size of a JPEG (its frame header, and the EXIF orientation) or a PNG (IHDR) from the bytes, in
 * microseconds where asking libvips costs a trip through the thread pool and about 0.5-1 ms. Anything it is
 * not sure of (another format, an unusual frame type, a PNG with EXIF, a header it cannot follow) is
 * undefined: the caller asks libvips, which remains the judge of every file.
 */
export function readHeader(data: Buffer, format: ImageFormat): ImageHeader | undefined {
  if (format === 'jpeg') return jpegHeader(data);
  if (format === 'png') return pngHeader(data);
  return undefined;
}

const SOS = 0xda;
const APP1 = 0xe1;

function jpegHeader(d: Buffer): ImageHeader | undefined {
  let pos = 2; // after SOI
  let orientation = 1;
  let exif = 0;
  let frame: ImageHeader | undefined;
  // Every segment up to the first scan, as libjpeg reads the header: the frame and any EXIF block.
  while (pos + 4 <= d.length) {
    if (d[pos] !== 0xff) return undefined;
    const marker = d[pos + 1];
    if (marker === 0xff) {
      pos++; // fill byte
      continue;
    }
    if (marker === SOS) break;
    if (marker === 0xd9 || (marker >= 0xd0 && marker <= 0xd8) || marker === 0x01) return undefined;
    const length = d.readUInt16BE(pos + 2);
    const start = pos + 4;
    const end = pos + 2 + length;
    if (length < 2 || end > d.length) return undefined;
    if (marker === APP1 && d.toString('latin1', start, start + 6) === 'Exif\0\0') {
      const value = exifOrientation(d.subarray(start + 6, end));
      if (value === undefined || ++exif > 1) return undefined;
      orientation = value;
    } else if (marker === 0xc0 || marker === 0xc1 || marker === 0xc2) {
      // Baseline, extended and progressive Huffman frames: what libjpeg reads everywhere.
      if (length < 8 || frame) return undefined;
      const height = d.readUInt16BE(start + 1);
      const width = d.readUInt16BE(start + 3);
      if (width === 0 || height === 0) return undefined; // height 0: set later by a DNL marker
      frame = { width, height };
    } else if (marker >= 0xc3 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return undefined; // lossless, hierarchical or arithmetic-coded frames
    }
    pos = end;
  }
  if (!frame || pos + 4 > d.length) return undefined;
  return orientation >= 5 ? { width: frame.height, height: frame.width } : frame;
}

/** The orientation tag of IFD0 of an EXIF block (1 when absent or out of range, as libvips has it). */
function exifOrientation(tiff: Buffer): number | undefined {
  if (tiff.length < 8) return undefined;
  const order = tiff.toString('latin1', 0, 2);
  if (order !== 'II' && order !== 'MM') return undefined;
  const le = order === 'II';
  const u16 = (at: number) => (le ? tiff.readUInt16LE(at) : tiff.readUInt16BE(at));
  const u32 = (at: number) => (le ? tiff.readUInt32LE(at) : tiff.readUInt32BE(at));
  if (u16(2) !== 42) return undefined;
  const ifd = u32(4);
  if (ifd + 2 > tiff.length) return undefined;
  const count = u16(ifd);
  if (ifd + 2 + count * 12 > tiff.length) return undefined;
  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + i * 12;
    if (u16(entry) !== 0x0112) continue;
    if (u16(entry + 2) !== 3 || u32(entry + 4) !== 1) return undefined; // not one SHORT
    const value = u16(entry + 8);
    return value >= 1 && value <= 8 ? value : 1;
  }
  return 1;
}

const { IHDR, IDAT, eXIf: EXIF } = PNG_CHUNK;

function pngHeader(d: Buffer): ImageHeader | undefined {
  if (d.length < 33 || d.readUInt32BE(8) !== 13 || d.readUInt32BE(12) !== IHDR) return undefined;
  const width = d.readUInt32BE(16);
  const height = d.readUInt32BE(20);
  if (width === 0 || height === 0 || width > 0x7fffffff || height > 0x7fffffff) return undefined;
  // An EXIF chunk may carry an orientation libvips would apply: then libvips says the size.
  let pos = 33;
  while (pos + 8 <= d.length) {
    const type = d.readUInt32BE(pos + 4);
    if (type === IDAT) return { width, height };
    if (type === EXIF) return undefined;
    pos += 12 + d.readUInt32BE(pos);
  }
  return undefined;
}
