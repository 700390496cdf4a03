import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  findMnistFile,
  IdxFormatError,
  loadMnistPair,
  MnistSet,
  parseIdx,
  readIdxFile,
} from '../../../src/modules/mnist/idx';
import { MNIST_DIR, TRAIN_IMAGES, TRAIN_LABELS } from '../../support/mnist-fixtures';

function idx(magic: number, dims: number[], data: Uint8Array | number[]): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, Buffer.from(data)]);
}

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(IdxFormatError);
    return (e as Error).message;
  }
  throw new Error('expected an IdxFormatError');
}

async function refusalAsync(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(IdxFormatError);
    return (e as Error).message;
  }
  throw new Error('expected an IdxFormatError');
}

describe('MNIST IDX loader', () => {
  let set: MnistSet;
  let dir: string;

  beforeAll(async () => {
    set = await loadMnistPair(TRAIN_IMAGES, TRAIN_LABELS);
    dir = mkdtempSync(path.join(tmpdir(), 'mnist-idx-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the real gzipped training set: 60,000 images of 28×28 with their labels', () => {
    expect(set.count).toBe(60000);
    expect([set.rows, set.cols]).toEqual([28, 28]);
    expect(set.images.length).toBe(60000 * 784);
    expect(Array.from(set.labels.subarray(0, 10))).toEqual([5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    // Distribution from SOURCE.md.
    expect(set.labelCounts()).toEqual([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
  });

  it('gives each image as 784 bytes of white ink on black', () => {
    const first = set.image(0);
    expect(first.length).toBe(784);
    expect(first[0]).toBe(0); // corner: background
    expect(Math.max(...first)).toBe(255);
    // image(i) is a view into the one buffer, not a copy.
    expect(set.image(59999).buffer).toBe(set.images.buffer);
  });

  it('reads uncompressed files too, and finds the usual file names', async () => {
    const plainImages = path.join(dir, 'train-images-idx3-ubyte');
    const plainLabels = path.join(dir, 'train-labels.idx1-ubyte');
    writeFileSync(plainImages, gunzipSync(readFileSync(TRAIN_IMAGES)));
    writeFileSync(plainLabels, gunzipSync(readFileSync(TRAIN_LABELS)));
    expect(findMnistFile(dir, 'train', 'images')).toBe(plainImages);
    expect(findMnistFile(dir, 'train', 'labels')).toBe(plainLabels);
    expect(findMnistFile(MNIST_DIR, 'train', 'images')).toBe(TRAIN_IMAGES);
    expect(findMnistFile(dir, 't10k', 'images')).toBeNull();
    const plain = await loadMnistPair(plainImages, plainLabels);
    expect(plain.count).toBe(60000);
    expect(Buffer.compare(Buffer.from(plain.images), Buffer.from(set.images))).toBe(0);
    rmSync(plainImages);
    rmSync(plainLabels);
  });

  it('parses small hand-made files and checks the big-endian header', () => {
    const labels = parseIdx(idx(0x801, [3], [7, 0, 9]));
    expect(labels.dims).toEqual([3]);
    expect(Array.from(labels.data)).toEqual([7, 0, 9]);
    const images = parseIdx(idx(0x803, [2, 2, 3], new Uint8Array(12).fill(1)));
    expect(images.dims).toEqual([2, 2, 3]);
  });

  it('refuses a wrong magic number, naming the expected ones', () => {
    expect(refusal(() => parseIdx(Buffer.from('P5\n28 28\n255\n.....'), 'x.pgm'))).toMatch(
      /x\.pgm is not an IDX file: its magic number is 0x50350a32 \(expected 0x00000803 for images or 0x00000801 for labels\)/,
    );
    // A little-endian header (a common bug when writing IDX files by hand).
    const le = Buffer.alloc(8);
    le.writeUInt32LE(0x801, 0);
    le.writeUInt32LE(0, 4);
    expect(refusal(() => parseIdx(le, 'le.idx'))).toMatch(/little-endian; IDX headers are big-endian/);
    // Labels where images are expected.
    expect(refusal(() => parseIdx(idx(0x801, [1], [3]), 'labels', 3))).toMatch(/expected images/);
    // Floats are valid IDX but not MNIST.
    expect(refusal(() => parseIdx(idx(0x0d01, [1], [0, 0, 0, 0]), 'f'))).toMatch(/only unsigned bytes/);
  });

  it('refuses truncated files and trailing bytes with the sizes', () => {
    expect(refusal(() => parseIdx(Buffer.from([0, 0]), 'tiny'))).toBe(
      'tiny is too short to be an IDX file (2 bytes).',
    );
    const head = Buffer.alloc(8);
    head.writeUInt32BE(0x803, 0);
    expect(refusal(() => parseIdx(head, 'short-header'))).toBe(
      'short-header is truncated: its 3-dimensional header needs 16 bytes, the file has 8.',
    );
    expect(refusal(() => parseIdx(idx(0x803, [10, 28, 28], new Uint8Array(784 * 9)), 'cut'))).toBe(
      'cut is truncated: its header declares 10×28×28 values (7840 bytes) but only 7056 bytes follow.',
    );
    expect(refusal(() => parseIdx(idx(0x801, [2], [1, 2, 3]), 'long'))).toMatch(
      /1 bytes more than its header/,
    );
  });

  it('refuses a truncated real file, a truncated gzip, a missing file and mismatched counts', async () => {
    const raw = gunzipSync(readFileSync(TRAIN_LABELS));
    const cutPlain = path.join(dir, 'cut-labels-idx1-ubyte');
    writeFileSync(cutPlain, raw.subarray(0, 30000));
    expect(await refusalAsync(readIdxFile(cutPlain, 1))).toMatch(
      /cut-labels-idx1-ubyte is truncated: its header declares 60000 values \(60000 bytes\) but only 29992 bytes follow/,
    );
    const cutGz = path.join(dir, 'cut-labels-idx1-ubyte.gz');
    writeFileSync(cutGz, readFileSync(TRAIN_LABELS).subarray(0, 10000));
    expect(await refusalAsync(readIdxFile(cutGz, 1))).toBe(
      'cut-labels-idx1-ubyte.gz is a truncated or corrupt gzip file.',
    );
    expect(await refusalAsync(readIdxFile(path.join(dir, 'nope.gz')))).toMatch(/nope\.gz does not exist\./);

    const fewLabels = path.join(dir, 'few-labels.gz');
    writeFileSync(fewLabels, gzipSync(idx(0x801, [5], [1, 2, 3, 4, 5])));
    expect(await refusalAsync(loadMnistPair(TRAIN_IMAGES, fewLabels))).toBe(
      'train-images-idx3-ubyte.gz has 60000 images but few-labels.gz has 5 labels.',
    );
    const badLabel = path.join(dir, 'bad-label');
    const oneImage = path.join(dir, 'one-image');
    writeFileSync(badLabel, idx(0x801, [1], [12]));
    writeFileSync(oneImage, idx(0x803, [1, 28, 28], new Uint8Array(784)));
    expect(await refusalAsync(loadMnistPair(oneImage, badLabel))).toMatch(/label 12 at index 0; digits 0-9/);
  });
});
