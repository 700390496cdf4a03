import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { gunzip as gunzipCb } from 'node:zlib';

/**
 * Reader for the IDX format of the original MNIST files (http://yann.lecun.com/exdb/mnist/), gzipped or
 * not. Every header integer is a 32-bit big-endian unsigned int:
 *   magic = 0x0000 <type> <ndims>, then one size per dimension, then the data, row-major.
 * MNIST uses type 0x08 (unsigned byte): 0x00000803 for images [count, rows, cols], 0x00000801 for labels.
 */

const gunzip = promisify(gunzipCb);

/** A file that is not a valid IDX file, with one sentence saying what is wrong. */
export class IdxFormatError extends Error {}

export interface IdxArray {
  /** Sizes of each dimension, e.g. [60000, 28, 28]. */
  dims: number[];
  /** The values, row-major (unsigned bytes). */
  data: Uint8Array;
}

const IDX_TYPES: Record<number, string> = {
  0x08: 'unsigned byte',
  0x09: 'signed byte',
  0x0b: 'short',
  0x0c: 'int',
  0x0d: 'float',
  0x0e: 'double',
};

/** Largest decompressed IDX file accepted (the MNIST training images are 47 MB). */
const MAX_IDX_BYTES = 512 * 1024 * 1024;

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

/** Parses an uncompressed IDX buffer of unsigned bytes, checking the header against the data length. */
export function parseIdx(buf: Uint8Array, name = 'the file', expectedDims?: number): IdxArray {
  const view = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (view.length < 4) {
    throw new IdxFormatError(`${name} is too short to be an IDX file (${view.length} bytes).`);
  }
  const magic = view.readUInt32BE(0);
  const type = view[2];
  const ndims = view[3];
  if (view[0] !== 0 || view[1] !== 0 || !(type in IDX_TYPES) || ndims === 0) {
    const le = view.readUInt32LE(0);
    const hint =
      le === 0x801 || le === 0x803
        ? ' (it looks little-endian; IDX headers are big-endian)'
        : ' (expected 0x00000803 for images or 0x00000801 for labels)';
    throw new IdxFormatError(`${name} is not an IDX file: its magic number is ${hex(magic)}${hint}.`);
  }
  if (type !== 0x08) {
    throw new IdxFormatError(
      `${name} holds ${IDX_TYPES[type]} values; only unsigned bytes (MNIST) are supported.`,
    );
  }
  if (expectedDims !== undefined && ndims !== expectedDims) {
    const what = expectedDims === 3 ? 'images (magic 0x00000803)' : 'labels (magic 0x00000801)';
    throw new IdxFormatError(`${name} has ${ndims} dimension(s) (magic ${hex(magic)}); expected ${what}.`);
  }
  const headerBytes = 4 + 4 * ndims;
  if (view.length < headerBytes) {
    throw new IdxFormatError(
      `${name} is truncated: its ${ndims}-dimensional header needs ${headerBytes} bytes, the file has ${view.length}.`,
    );
  }
  const dims: number[] = [];
  for (let d = 0; d < ndims; d++) dims.push(view.readUInt32BE(4 + 4 * d));
  const expected = dims.reduce((a, b) => a * b, 1);
  const actual = view.length - headerBytes;
  if (actual < expected) {
    throw new IdxFormatError(
      `${name} is truncated: its header declares ${dims.join('×')} values (${expected} bytes) but only ${actual} bytes follow.`,
    );
  }
  if (actual > expected) {
    throw new IdxFormatError(
      `${name} has ${actual - expected} bytes more than its header (${dims.join('×')}) declares.`,
    );
  }
  return { dims, data: view.subarray(headerBytes) };
}

/** Reads an IDX file, gunzipping it when it starts with the gzip magic bytes (whatever its name). */
export async function readIdxFile(file: string, expectedDims?: number): Promise<IdxArray> {
  const name = path.basename(file);
  let raw: Buffer;
  try {
    raw = await fs.readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new IdxFormatError(
      code === 'ENOENT' ? `${file} does not exist.` : `${file} cannot be read (${code ?? String(err)}).`,
    );
  }
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      raw = await gunzip(raw, { maxOutputLength: MAX_IDX_BYTES });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new IdxFormatError(
        code === 'ERR_BUFFER_TOO_LARGE'
          ? `${name} decompresses to more than ${MAX_IDX_BYTES / 1024 / 1024} MB.`
          : `${name} is a truncated or corrupt gzip file.`,
      );
    }
  }
  return parseIdx(raw, name, expectedDims);
}

/** Images and labels of one MNIST split, held in memory. */
export class MnistSet {
  constructor(
    readonly images: Uint8Array,
    readonly labels: Uint8Array,
    readonly rows: number,
    readonly cols: number,
    /** Where it was read from, for /models and messages. */
    readonly files: { images: string; labels: string },
  ) {}

  get count(): number {
    return this.labels.length;
  }

  get pixels(): number {
    return this.rows * this.cols;
  }

  /** Image `i` as rows×cols bytes (a view, not a copy): 0 = background, 255 = ink. */
  image(i: number): Uint8Array {
    const n = this.pixels;
    return this.images.subarray(i * n, (i + 1) * n);
  }

  label(i: number): number {
    return this.labels[i];
  }

  /** How many images of each digit. */
  labelCounts(): number[] {
    const counts = new Array<number>(10).fill(0);
    for (const l of this.labels) counts[l]++;
    return counts;
  }
}

/** Reads an images file and its labels file and checks that they belong together. */
export async function loadMnistPair(imagesFile: string, labelsFile: string): Promise<MnistSet> {
  const [images, labels] = await Promise.all([readIdxFile(imagesFile, 3), readIdxFile(labelsFile, 1)]);
  const [count, rows, cols] = images.dims;
  if (labels.dims[0] !== count) {
    throw new IdxFormatError(
      `${path.basename(imagesFile)} has ${count} images but ${path.basename(labelsFile)} has ${labels.dims[0]} labels.`,
    );
  }
  if (rows === 0 || cols === 0) {
    throw new IdxFormatError(`${path.basename(imagesFile)} declares empty ${rows}×${cols} images.`);
  }
  const bad = labels.data.findIndex((l) => l > 9);
  if (bad >= 0) {
    throw new IdxFormatError(
      `${path.basename(labelsFile)} holds label ${labels.data[bad]} at index ${bad}; digits 0-9 expected.`,
    );
  }
  return new MnistSet(images.data, labels.data, rows, cols, { images: imagesFile, labels: labelsFile });
}

export type MnistSplit = 'train' | 't10k';

/** The usual names of a split's files: original (`train-images-idx3-ubyte`), dotted variant, gzipped or not. */
export function mnistFileNames(split: MnistSplit, kind: 'images' | 'labels'): string[] {
  const base = kind === 'images' ? `${split}-images` : `${split}-labels`;
  const dims = kind === 'images' ? 'idx3' : 'idx1';
  const names = [`${base}-${dims}-ubyte`, `${base}.${dims}-ubyte`];
  return names.flatMap((n) => [n, `${n}.gz`]);
}

/** The first existing file of a split in `dir`, or null. */
export function findMnistFile(dir: string, split: MnistSplit, kind: 'images' | 'labels'): string | null {
  for (const name of mnistFileNames(split, kind)) {
    const file = path.join(dir, name);
    if (existsSync(file)) return file;
  }
  return null;
}
