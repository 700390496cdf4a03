import sharp from 'sharp';
import * as path from 'node:path';
import { deflateSync } from 'node:zlib';
import { loadMnistPair, MnistSet } from '../../src/modules/mnist/idx';
import { mulberry32 } from '../../src/modules/mnist/noise';
import { pngChunk } from './images';
import { REPO_ROOT, SHARED } from './app';

/** MNIST fixtures made by code from the real training set in ../shared/datasets/mnist (never copied). */

export const MNIST_DIR = path.join(SHARED, 'mnist');
export const TRAIN_IMAGES = path.join(MNIST_DIR, 'train-images-idx3-ubyte.gz');
export const TRAIN_LABELS = path.join(MNIST_DIR, 'train-labels-idx1-ubyte.gz');
export const MODEL_DIR = path.join(REPO_ROOT, 'models', 'mnist-cnn');
/** The model was trained on indices 0-54999; 55000-59999 were held out. */
export const HELD_OUT = 55_000;

let cached: Promise<MnistSet> | undefined;
/** The real training set, read once per test file. */
export function trainSet(): Promise<MnistSet> {
  cached ??= loadMnistPair(TRAIN_IMAGES, TRAIN_LABELS);
  return cached;
}

/** An MNIST image as a 28×28 greyscale PNG (white on black), as the sample routes write it. */
export function mnistPng(set: MnistSet, index: number): Promise<Buffer> {
  return sharp(Buffer.from(set.image(index)), { raw: { width: 28, height: 28, channels: 1 } })
    .toColourspace('b-w')
    .png()
    .toBuffer();
}

export type Style = 'paper' | 'jpeg' | 'offcentre' | 'canvas' | 'alpha' | 'photo';
export const STYLES: Style[] = ['paper', 'jpeg', 'offcentre', 'canvas', 'alpha', 'photo'];

type RGB = [number, number, number];

/** The digit as ink coverage 0..1 at `size`×`size` (smooth enlargement, like a scan of a pen stroke). */
async function coverage(set: MnistSet, index: number, size: number): Promise<Float32Array> {
  const data = await sharp(Buffer.from(set.image(index)), { raw: { width: 28, height: 28, channels: 1 } })
    .resize(size, size, { kernel: 'cubic' })
    .toColourspace('b-w')
    .raw()
    .toBuffer();
  return Float32Array.from(data, (v) => v / 255);
}

/** Raw pixels → a new pipeline (each step materialised, so sharp's fixed operation order cannot bite). */
function raw(data: Buffer, width: number, height: number, channels: 1 | 2 | 3 | 4) {
  return sharp(data, { raw: { width, height, channels } });
}

/**
 * A real-world rendering of training image `index` (made with sharp only, so it is fast anywhere):
 *  - paper: dark ink on light-grey paper, 200×200, digit ~110 px with margins (PNG);
 *  - jpeg: blue ink on cream paper, 300×240, JPEG quality 55;
 *  - offcentre: black on white, 320×240, a 70-px digit near a corner (PNG);
 *  - canvas: white strokes on black, 280×280, like a browser canvas drawing (PNG);
 *  - alpha: black ink on a transparent background, 160×160 RGBA (PNG);
 *  - photo: grey paper under uneven light with sensor noise, 400×300, JPEG quality 80.
 */
export async function styled(set: MnistSet, index: number, style: Style): Promise<Buffer> {
  const rnd = mulberry32(index * 7919 + STYLES.indexOf(style));
  const r = (lo: number, hi: number) => lo + (hi - lo) * rnd();
  const spec = {
    paper: { w: 200, h: 200, size: 110, paper: [235, 235, 232] as RGB, ink: [35, 35, 40] as RGB },
    jpeg: { w: 300, h: 240, size: 150, paper: [246, 240, 220] as RGB, ink: [20, 40, 150] as RGB },
    offcentre: { w: 320, h: 240, size: 70, paper: [255, 255, 255] as RGB, ink: [0, 0, 0] as RGB },
    canvas: { w: 280, h: 280, size: 260, paper: [0, 0, 0] as RGB, ink: [255, 255, 255] as RGB },
    alpha: { w: 160, h: 160, size: 120, paper: [0, 0, 0] as RGB, ink: [0, 0, 0] as RGB },
    photo: { w: 400, h: 300, size: 180, paper: [200, 196, 188] as RGB, ink: [50, 45, 45] as RGB },
  }[style];
  const { w, h, size } = spec;
  // Position: centred with jitter, or near a corner for "offcentre".
  const corner = (span: number) => Math.round(r(5, 40) + (rnd() < 0.5 ? 0 : span - size - 45));
  const fit = (v: number, span: number) => Math.max(0, Math.min(span - size, v));
  const ox = fit(style === 'offcentre' ? corner(w) : Math.round((w - size) / 2 + r(-15, 15)), w);
  const oy = fit(style === 'offcentre' ? corner(h) : Math.round((h - size) / 2 + r(-10, 10)), h);
  const cov = await sharp(Buffer.from(set.image(index)), { raw: { width: 28, height: 28, channels: 1 } })
    .resize(size, size, { kernel: 'cubic' })
    .extend({ left: ox, top: oy, right: w - size - ox, bottom: h - size - oy, background: '#000' })
    .toColourspace('b-w')
    .raw()
    .toBuffer();
  if (style === 'alpha') {
    const black = Buffer.alloc(w * h * 3);
    return raw(black, w, h, 3)
      .joinChannel(cov, { raw: { width: w, height: h, channels: 1 } })
      .png()
      .toBuffer();
  }
  // ink coverage a → paper + a·(ink − paper), per channel.
  const rgb = await raw(cov, w, h, 1).toColourspace('srgb').raw().toBuffer();
  const mixed = await raw(rgb, w, h, 3)
    .linear(
      spec.ink.map((c, k) => (c - spec.paper[k]) / 255),
      spec.paper,
    )
    .raw()
    .toBuffer();
  let img = raw(mixed, w, h, 3);
  if (style === 'photo') {
    // Uneven light (a quarter darker on the left) and sensor noise.
    const light = Buffer.from(
      `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"><defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="0.4">` +
        '<stop offset="0" stop-color="rgb(190,190,190)"/><stop offset="1" stop-color="rgb(255,255,255)"/></linearGradient></defs>' +
        `<rect width="${w}" height="${h}" fill="url(#g)"/></svg>`,
    );
    const lit = await img
      .composite([{ input: light, blend: 'multiply' }])
      .removeAlpha()
      .raw()
      .toBuffer();
    // Gaussian noise (mean 128, sigma 24) from the seeded generator, so that a fixture is the same every
    // time (libvips' own noise is unseeded).
    const noise = Buffer.alloc(w * h * 3);
    for (let i = 0; i < noise.length; i++) {
      const g = Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
      noise[i] = Math.max(0, Math.min(255, Math.round(128 + 24 * g)));
    }
    img = raw(lit, w, h, 3).composite([
      { input: noise, raw: { width: w, height: h, channels: 3 }, blend: 'overlay' },
    ]);
    return img.jpeg({ quality: 80 }).toBuffer();
  }
  if (style === 'jpeg') return img.jpeg({ quality: 55 }).toBuffer();
  return img.png().toBuffer();
}

/** A 16-bit greyscale PNG (written by hand: big-endian samples 0..65535), e.g. from a scanner. */
export function png16(width: number, height: number, samples: ArrayLike<number>): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 16; // bit depth
  ihdr[9] = 0; // greyscale
  const stride = 1 + width * 2;
  const rows = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) rows.writeUInt16BE(samples[y * width + x], y * stride + 1 + 2 * x);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(rows)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Dark-on-light digit as 16-bit: paper 60000, ink 4000, scaled up ×4 (112×112). */
export async function digitPng16(set: MnistSet, index: number): Promise<Buffer> {
  const size = 112;
  const cov = await coverage(set, index, size);
  return png16(
    size,
    size,
    Array.from(cov, (a) => Math.round(60000 * (1 - a) + 4000 * a)),
  );
}

/** Dark-on-light digit as a CMYK JPEG (as print workflows produce). */
export async function digitCmykJpeg(set: MnistSet, index: number): Promise<Buffer> {
  const size = 120;
  const cov = await coverage(set, index, size);
  const grey = Buffer.from(cov.map((a) => 250 - 230 * a));
  return sharp(grey, { raw: { width: size, height: size, channels: 1 } })
    .toColourspace('cmyk')
    .jpeg({ quality: 90 })
    .toBuffer();
}

/** An animated GIF whose first frame is the digit (dark on white) and whose second frame is blank. */
export async function digitAnimatedGif(set: MnistSet, index: number): Promise<Buffer> {
  const size = 112;
  const cov = await coverage(set, index, size);
  const frame = Buffer.alloc(size * size * 4);
  for (let i = 0; i < size * size; i++) {
    const v = Math.round(255 * (1 - cov[i]));
    frame.fill(v, i * 4, i * 4 + 3);
    frame[i * 4 + 3] = 255;
  }
  const blank = Buffer.alloc(size * size * 4, 255);
  return sharp(Buffer.concat([frame, blank]), {
    raw: { width: size, height: size * 2, channels: 4, pageHeight: size },
  })
    .gif({ loop: 0, delay: [500, 500] })
    .toBuffer();
}

/** A dark-on-light digit photo stored sideways with EXIF orientation 6 (rotate 90° clockwise to view). */
export async function digitExifRotated(set: MnistSet, index: number): Promise<Buffer> {
  const size = 140;
  const cov = await coverage(set, index, size);
  const grey = Buffer.from(cov.map((a) => 240 - 220 * a));
  // Stored rotated 90° counter-clockwise; orientation 6 tells viewers to turn it back clockwise.
  return sharp(grey, { raw: { width: size, height: size, channels: 1 } })
    .rotate(-90)
    .jpeg({ quality: 90 })
    .withMetadata({ orientation: 6 })
    .toBuffer();
}
