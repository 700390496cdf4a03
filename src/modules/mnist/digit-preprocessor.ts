import { Injectable, UnprocessableEntityException } from '@nestjs/common';
import { ImageDecoder } from '../../common/image/image-decoder';

/** Side of the MNIST frame, and of the box the digit is scaled into (as MNIST was made). */
export const FRAME = 28;
export const DIGIT_BOX = 20;
/** Mean centre of mass of the MNIST training digits, in pixel-index coordinates (measured: 14.00, 14.00). */
const MNIST_CENTRE = 14;
/** Uploads are shrunk to this longer side first: plenty for a 20-pixel digit, and bounds the work. */
const WORK_SIDE = 512;
/** Ink must differ from the background by this much (0-255) to count as a digit. */
const MIN_CONTRAST = 40;
/** Components smaller than this fraction of the largest are specks, not parts of the digit. */
const SPECK_FRACTION = 0.05;
/** Stroke width (pixels, in the 20-pixel box) below which strokes are thickened to MNIST's pen. */
const MIN_STROKE = 1.5;
const TARGET_STROKE = 2;
/** Background flattening: only for images at least this big, whose background varies by this much. */
const FLATTEN_MIN_SIDE = 64;
const FLATTEN_MIN_SPREAD = 24;

export interface GreyImage {
  /** One byte per pixel, row-major. */
  data: Uint8Array;
  width: number;
  height: number;
}

/** What the preprocessor did, for debugging and tests. */
export interface PreparedDigit {
  /** 28×28 MNIST-style pixels, 0 = background, 255 = ink. */
  pixels: Float32Array;
  /** Whether the image was dark-on-light and got inverted. */
  inverted: boolean;
  /** The digit's bounding box in the (possibly shrunk) working image. */
  box: { x: number; y: number; width: number; height: number };
  /** Ratio of the working image to the original (1 unless the upload was shrunk). */
  workScale: number;
}

function noDigit(reason: string): UnprocessableEntityException {
  return new UnprocessableEntityException(`The image shows no digit: ${reason}.`);
}

/**
 * Turns a real-world picture of one digit into what the MNIST model was trained on, the way MNIST itself
 * was made: greyscale (transparency composited on white), white digit on black (a dark-on-light scan is
 * inverted; the background is whichever class the border belongs to), background removed with an Otsu
 * threshold while the anti-aliased edges are kept, specks dropped, cropped to the digit, the longer side
 * scaled to 20 pixels keeping the aspect ratio, and placed in a 28×28 frame by its centre of mass.
 */
@Injectable()
export class DigitPreprocessor {
  constructor(private readonly decoder: ImageDecoder) {}

  /** Decodes untrusted bytes (through ImageDecoder) and prepares the digit. */
  async prepare(data: Buffer): Promise<PreparedDigit> {
    const grey = await this.greyscale(data);
    const prepared = prepareGrey(grey.image);
    return { ...prepared, workScale: grey.scale };
  }

  /** 8-bit greyscale of the first frame, upright, alpha composited on white, shrunk to WORK_SIDE. */
  async greyscale(data: Buffer): Promise<{ image: GreyImage; scale: number }> {
    const { info, image } = await this.decoder.decode(data);
    const pipeline = image
      .flatten({ background: '#ffffff' })
      .resize({ width: WORK_SIDE, height: WORK_SIDE, fit: 'inside', withoutEnlargement: true })
      // b-w also brings 16-bit and CMYK images to 8-bit sRGB-based grey (plain raw() would not).
      .toColourspace('b-w');
    const raw = await this.decoder.toRaw(pipeline, info.format);
    const { width, height, channels } = raw.info;
    let grey: Uint8Array = raw.data;
    if (channels !== 1) {
      grey = new Uint8Array(width * height);
      for (let i = 0; i < grey.length; i++) grey[i] = raw.data[i * channels];
    }
    return { image: { data: grey, width, height }, scale: width / info.width };
  }
}

/** The MNIST-style preparation of a greyscale image (exported for tests and tools). */
export function prepareGrey(img: GreyImage): Omit<PreparedDigit, 'workScale'> {
  const { width: w, height: h } = img;
  const n = w * h;
  const src = img.data;

  const hist = new Uint32Array(256);
  for (let i = 0; i < n; i++) hist[src[i]]++;
  // Polarity: the background is the border's level; the ink is on the side of the longer tail of the
  // histogram (robust to dim paper, uneven light, and a digit touching an edge).
  const paper = median(borderValues(src, w, h));
  const darkTail = paper - percentile(hist, 0, 255, 0.005);
  const lightTail = percentile(hist, 0, 255, 0.995) - paper;
  const inverted = darkTail > lightTail;
  let v: Uint8Array = new Uint8Array(n);
  if (inverted) for (let i = 0; i < n; i++) v[i] = 255 - src[i];
  else v.set(src);
  v = flattenBackground(v, w, h);
  const vh = new Uint32Array(256);
  for (let i = 0; i < n; i++) vh[v[i]]++;
  // Ink is v > t. Otsu separates well-balanced classes (a drawing, an MNIST crop); the triangle method
  // finds a thin digit's small tail next to a big, noisy paper peak, where Otsu splits the paper instead.
  const t = Math.max(otsu(vh, n), triangle(vh));

  // Levels of the two classes.
  let bgCount = 0;
  for (let k = 0; k <= t; k++) bgCount += vh[k];
  const inkCount = n - bgCount;
  if (inkCount === 0 || bgCount === 0) throw noDigit('it is blank or uniform');
  const bg = percentile(vh, 0, t, 0.5);
  const ink = percentile(vh, t + 1, 255, 0.9);
  if (ink - bg < MIN_CONTRAST) throw noDigit('it is blank or has too little contrast');
  if (inkCount > 0.5 * n) throw noDigit('there is no clear background around a single digit');

  // Connected components (8-neighbourhood) of the ink; keep the digit, drop specks.
  const labels = new Int32Array(n);
  const areas = [0];
  const stack = new Int32Array(n);
  for (let start = 0; start < n; start++) {
    if (v[start] <= t || labels[start] !== 0) continue;
    const id = areas.length;
    let area = 0;
    let top = 0;
    stack[top++] = start;
    labels[start] = id;
    while (top > 0) {
      const p = stack[--top];
      area++;
      const px = p % w;
      const py = (p - px) / w;
      for (let dy = -1; dy <= 1; dy++) {
        const y = py + dy;
        if (y < 0 || y >= h) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const x = px + dx;
          if (x < 0 || x >= w) continue;
          const q = y * w + x;
          if (labels[q] === 0 && v[q] > t) {
            labels[q] = id;
            stack[top++] = q;
          }
        }
      }
    }
    areas.push(area);
  }
  let largest = 0;
  for (const a of areas) largest = Math.max(largest, a);
  const keep = areas.map((a, i) => i > 0 && a >= Math.max(2, SPECK_FRACTION * largest));
  const kept = new Uint8Array(n);
  let keptArea = 0;
  let boundary = 0;
  for (let i = 0; i < n; i++) {
    if (keep[labels[i]]) {
      kept[i] = 1;
      keptArea++;
    }
  }
  for (let i = 0; i < n; i++) {
    if (!kept[i]) continue;
    const x = i % w;
    if (
      x === 0 ||
      x === w - 1 ||
      i < w ||
      i >= n - w ||
      !kept[i - 1] ||
      !kept[i + 1] ||
      !kept[i - w] ||
      !kept[i + w]
    )
      boundary++;
  }

  // Soft ink: a ramp from just above the background to the ink level keeps the anti-aliased edges; only
  // pixels near the kept components count (so faint noise elsewhere does not).
  const near = dilate(kept, w, h, 2);
  const lo = bg + 0.25 * (t - bg);
  const span = Math.max(1, ink - lo);
  const soft = new Float32Array(n);
  let x0 = w;
  let y0 = h;
  let x1 = -1;
  let y1 = -1;
  for (let i = 0; i < n; i++) {
    if (!near[i] || (labels[i] !== 0 && !kept[i])) continue;
    const s = Math.min(1, (v[i] - lo) / span);
    if (s <= 0) continue;
    soft[i] = s * 255;
    const x = i % w;
    const y = (i - x) / w;
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  const bw = x1 - x0 + 1;
  const bh = y1 - y0 + 1;
  if (x1 < 0 || Math.max(bw, bh) < Math.max(4, 0.02 * Math.max(w, h)))
    throw noDigit('the marks in it are too small');

  let crop: Float32Array = new Float32Array(bw * bh);
  for (let y = 0; y < bh; y++) crop.set(soft.subarray((y0 + y) * w + x0, (y0 + y) * w + x0 + bw), y * bw);

  // Thin pen strokes first get MNIST's pen width: grey-level dilation by r, the crop growing by r on each
  // side, with r such that the stroke is TARGET_STROKE pixels wide once the longer side is 20 pixels.
  const stroke = boundary > 0 ? (2 * keptArea) / boundary : 1;
  const longer = Math.max(bw, bh);
  let cw = bw;
  let ch = bh;
  if ((stroke * DIGIT_BOX) / longer < MIN_STROKE) {
    const k = TARGET_STROKE / DIGIT_BOX;
    const r = Math.round((k * longer - stroke) / (2 - 2 * k));
    if (r >= 1) {
      cw = bw + 2 * r;
      ch = bh + 2 * r;
      const padded = new Float32Array(cw * ch);
      for (let y = 0; y < bh; y++) padded.set(crop.subarray(y * bw, (y + 1) * bw), (y + r) * cw + r);
      crop = maxFilter(padded, cw, ch, r);
    }
  }
  // Longer side to 20 pixels, keeping the aspect ratio.
  const scale = DIGIT_BOX / Math.max(cw, ch);
  const nw = Math.max(1, Math.min(DIGIT_BOX, Math.round(cw * scale)));
  const nh = Math.max(1, Math.min(DIGIT_BOX, Math.round(ch * scale)));
  const small = resample(crop, cw, ch, nw, nh);
  let peak = 0;
  for (const p of small) peak = Math.max(peak, p);
  if (peak <= 0) throw noDigit('the marks in it are too faint');
  const gain = 255 / peak;

  // Centre of mass to the centre of the 28×28 frame (integer shift, as MNIST), never cutting the digit.
  let mass = 0;
  let mx = 0;
  let my = 0;
  for (let y = 0; y < nh; y++) {
    for (let x = 0; x < nw; x++) {
      const p = small[y * nw + x];
      mass += p;
      mx += p * x;
      my += p * y;
    }
  }
  const ox = clamp(Math.round(MNIST_CENTRE - mx / mass), 0, FRAME - nw);
  const oy = clamp(Math.round(MNIST_CENTRE - my / mass), 0, FRAME - nh);
  const pixels = new Float32Array(FRAME * FRAME);
  for (let y = 0; y < nh; y++) {
    for (let x = 0; x < nw; x++) {
      pixels[(oy + y) * FRAME + ox + x] = Math.min(255, small[y * nw + x] * gain);
    }
  }
  return { pixels, inverted, box: { x: x0, y: y0, width: bw, height: bh } };
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

/** Otsu's threshold: the grey level that best separates two classes (class 0 is ≤ t). */
export function otsu(hist: ArrayLike<number>, total: number): number {
  let sum = 0;
  for (let k = 0; k < 256; k++) sum += k * hist[k];
  let sumB = 0;
  let wB = 0;
  let best = -1;
  let bestT = 0;
  for (let k = 0; k < 256; k++) {
    wB += hist[k];
    if (wB === 0) continue;
    const wF = total - wB;
    if (wF === 0) break;
    sumB += k * hist[k];
    const mB = sumB / wB;
    const mF = (sum - sumB) / wF;
    const between = wB * wF * (mB - mF) * (mB - mF);
    if (between > best) {
      best = between;
      bestT = k;
    }
  }
  return bestT;
}

/**
 * Removes uneven lighting (a photo of paper, a shadow): when the background level varies across the
 * image, it is estimated per block (a low percentile, so ink does not count; a 3×3 median over blocks
 * drops blocks that are mostly ink), interpolated, and subtracted. Uniform backgrounds (scans, drawings,
 * MNIST crops) are left as they are.
 */
export function flattenBackground(v: Uint8Array, w: number, h: number): Uint8Array {
  if (Math.min(w, h) < FLATTEN_MIN_SIDE) return v;
  const block = Math.max(8, Math.ceil(Math.max(w, h) / 8));
  const gx = Math.ceil(w / block);
  const gy = Math.ceil(h / block);
  const levels = new Float32Array(gx * gy);
  const hist = new Uint32Array(256);
  for (let by = 0; by < gy; by++) {
    for (let bx = 0; bx < gx; bx++) {
      hist.fill(0);
      let count = 0;
      for (let y = by * block; y < Math.min(h, (by + 1) * block); y++) {
        for (let x = bx * block; x < Math.min(w, (bx + 1) * block); x++) {
          hist[v[y * w + x]]++;
          count++;
        }
      }
      levels[by * gx + bx] = count > 0 ? percentile(hist, 0, 255, 0.2) : 0;
    }
  }
  const smooth = new Float32Array(gx * gy);
  let lo = 255;
  let hi = 0;
  for (let by = 0; by < gy; by++) {
    for (let bx = 0; bx < gx; bx++) {
      const around: number[] = [];
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const y = clamp(by + dy, 0, gy - 1);
          const x = clamp(bx + dx, 0, gx - 1);
          around.push(levels[y * gx + x]);
        }
      }
      around.sort((a, b) => a - b);
      const m = around[4];
      smooth[by * gx + bx] = m;
      lo = Math.min(lo, m);
      hi = Math.max(hi, m);
    }
  }
  if (hi - lo < FLATTEN_MIN_SPREAD) return v;
  const out = new Uint8Array(v.length);
  for (let y = 0; y < h; y++) {
    const fy = clamp((y + 0.5) / block - 0.5, 0, gy - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(gy - 1, y0 + 1);
    const wy = fy - y0;
    for (let x = 0; x < w; x++) {
      const fx = clamp((x + 0.5) / block - 0.5, 0, gx - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(gx - 1, x0 + 1);
      const wx = fx - x0;
      const top = smooth[y0 * gx + x0] * (1 - wx) + smooth[y0 * gx + x1] * wx;
      const bottom = smooth[y1 * gx + x0] * (1 - wx) + smooth[y1 * gx + x1] * wx;
      const bg = top * (1 - wy) + bottom * wy;
      out[y * w + x] = clamp(Math.round(v[y * w + x] - bg), 0, 255);
    }
  }
  return out;
}

/**
 * The triangle threshold (Zack et al., 1977) for a histogram whose background peak is on the dark side
 * and whose ink is a tail towards 255: the level farthest from the line joining the peak to the tail's end.
 */
export function triangle(hist: ArrayLike<number>): number {
  let peak = 0;
  for (let k = 1; k < 256; k++) if (hist[k] > hist[peak]) peak = k;
  let end = 255;
  while (end > peak && hist[end] === 0) end--;
  if (end - peak < 2) return peak;
  // Distance to the line from (peak, hist[peak]) to (end, hist[end]), up to a constant factor.
  const dx = end - peak;
  const dy = hist[end] - hist[peak];
  let best = peak;
  let bestDist = -Infinity;
  for (let k = peak; k <= end; k++) {
    const dist = dy * (k - peak) - dx * (hist[k] - hist[peak]);
    if (dist > bestDist) {
      bestDist = dist;
      best = k;
    }
  }
  return best;
}

/** The value at fraction q of the histogram restricted to [from, to]. */
function percentile(hist: Uint32Array, from: number, to: number, q: number): number {
  let total = 0;
  for (let k = from; k <= to; k++) total += hist[k];
  let acc = 0;
  for (let k = from; k <= to; k++) {
    acc += hist[k];
    if (acc >= q * total) return k;
  }
  return to;
}

function borderValues(src: Uint8Array, w: number, h: number): Uint8Array {
  const ring = Math.max(1, Math.round(0.04 * Math.min(w, h)));
  const out: number[] = [];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (x < ring || y < ring || x >= w - ring || y >= h - ring) out.push(src[y * w + x]);
      else if (x === ring) x = w - ring - 1; // skip the interior of the row
    }
  }
  return Uint8Array.from(out);
}

function median(values: Uint8Array): number {
  const hist = new Uint32Array(256);
  for (const v of values) hist[v]++;
  return percentile(hist, 0, 255, 0.5);
}

/** Binary dilation with a (2r+1)² square, separable. */
function dilate(mask: Uint8Array, w: number, h: number, r: number): Uint8Array {
  const tmp = new Uint8Array(mask.length);
  const out = new Uint8Array(mask.length);
  for (let y = 0; y < h; y++) {
    let last = -Infinity; // x of the last set pixel at or left of x+r
    for (let x = 0; x < w + r; x++) {
      if (x < w && mask[y * w + x]) last = x;
      const c = x - r;
      if (c >= 0 && c < w && c - last <= r) tmp[y * w + c] = 1;
    }
    let next = Infinity;
    for (let x = w - 1; x >= -r; x--) {
      if (x >= 0 && mask[y * w + x]) next = x;
      const c = x + r;
      if (c >= 0 && c < w && next - c <= r) tmp[y * w + c] = 1;
    }
  }
  for (let x = 0; x < w; x++) {
    let last = -Infinity;
    for (let y = 0; y < h + r; y++) {
      if (y < h && tmp[y * w + x]) last = y;
      const c = y - r;
      if (c >= 0 && c < h && c - last <= r) out[c * w + x] = 1;
    }
    let next = Infinity;
    for (let y = h - 1; y >= -r; y--) {
      if (y >= 0 && tmp[y * w + x]) next = y;
      const c = y + r;
      if (c >= 0 && c < h && next - c <= r) out[c * w + x] = 1;
    }
  }
  return out;
}

/** Grey-level dilation (maximum over a (2r+1)² square), separable; thickens thin strokes. */
function maxFilter(src: Float32Array, w: number, h: number, r: number): Float32Array {
  const tmp = new Float32Array(src.length);
  const out = new Float32Array(src.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let m = 0;
      for (let k = Math.max(0, x - r); k <= Math.min(w - 1, x + r); k++) m = Math.max(m, src[y * w + k]);
      tmp[y * w + x] = m;
    }
  }
  for (let x = 0; x < w; x++) {
    for (let y = 0; y < h; y++) {
      let m = 0;
      for (let k = Math.max(0, y - r); k <= Math.min(h - 1, y + r); k++) m = Math.max(m, tmp[k * w + x]);
      out[y * w + x] = m;
    }
  }
  return out;
}

/**
 * Resizes a float image: area averaging when shrinking (each output pixel is the mean of the source area
 * it covers, so anti-aliasing is right), linear interpolation when enlarging. Separable.
 */
export function resample(src: Float32Array, w: number, h: number, nw: number, nh: number): Float32Array {
  const tmp = new Float32Array(nw * h);
  for (let y = 0; y < h; y++) resample1d(src, y * w, 1, w, tmp, y * nw, 1, nw);
  const out = new Float32Array(nw * nh);
  for (let x = 0; x < nw; x++) resample1d(tmp, x, nw, h, out, x, nw, nh);
  return out;
}

function resample1d(
  src: Float32Array,
  so: number,
  ss: number,
  n: number,
  dst: Float32Array,
  d0: number,
  ds: number,
  m: number,
): void {
  const ratio = n / m;
  if (ratio >= 1) {
    for (let j = 0; j < m; j++) {
      const a = j * ratio;
      const b = a + ratio;
      let acc = 0;
      for (let i = Math.floor(a); i < Math.ceil(b) && i < n; i++) {
        const cover = Math.min(b, i + 1) - Math.max(a, i);
        if (cover > 0) acc += cover * src[so + i * ss];
      }
      dst[d0 + j * ds] = acc / ratio;
    }
  } else {
    for (let j = 0; j < m; j++) {
      const c = clamp((j + 0.5) * ratio - 0.5, 0, n - 1);
      const i = Math.floor(c);
      const f = c - i;
      const i2 = Math.min(n - 1, i + 1);
      dst[d0 + j * ds] = src[so + i * ss] * (1 - f) + src[so + i2 * ss] * f;
    }
  }
}
