import { UnprocessableEntityException } from '@nestjs/common';
import { borderMedian, flattenBackground } from './background';
import { dilate, maxFilter } from './morphology';
import { resample } from './resample';
import { clamp, otsu, percentile, triangle } from './thresholds';

/** Side of the MNIST frame, and of the box the digit is scaled into (as MNIST was made). */
export const FRAME = 28;
export const DIGIT_BOX = 20;
/** Mean centre of mass of the MNIST training digits, in pixel-index coordinates (measured: 14.00, 14.00). */
const MNIST_CENTRE = 14;
/** Ink must differ from the background by this much (0-255) to count as a digit. */
const MIN_CONTRAST = 40;
/** Components smaller than this fraction of the largest are specks, not parts of the digit. */
const SPECK_FRACTION = 0.05;
/** Stroke width (pixels, in the 20-pixel box) below which strokes are thickened to MNIST's pen. */
const MIN_STROKE = 1.5;
const TARGET_STROKE = 2;

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

/** The MNIST-style preparation of a greyscale image (exported for tests and tools). */
export function prepareGrey(img: GreyImage): Omit<PreparedDigit, 'workScale'> {
  const { width: w, height: h } = img;
  const n = w * h;
  const src = img.data;

  const hist = new Uint32Array(256);
  for (let i = 0; i < n; i++) hist[src[i]]++;
  // Polarity: the background is the border's level; the ink is on the side of the longer tail of the
  // histogram (robust to dim paper, uneven light, and a digit touching an edge).
  const paper = borderMedian(src, w, h);
  const darkTail = paper - percentile(hist, 0, 255, 0.005);
  const lightTail = percentile(hist, 0, 255, 0.995) - paper;
  const inverted = darkTail > lightTail;
  // v is only read from here on: no copy unless it is inverted.
  let v: Uint8Array = src;
  if (inverted) {
    v = new Uint8Array(n);
    for (let i = 0; i < n; i++) v[i] = 255 - src[i];
  }
  // The levels of v: those of the source (reversed when inverted), unless the background is flattened.
  const flat = flattenBackground(v, w, h);
  let vh = inverted ? hist.reverse() : hist;
  if (flat !== v) {
    v = flat;
    vh = new Uint32Array(256);
    for (let i = 0; i < n; i++) vh[v[i]]++;
  }
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
  // Each component's bounding box, [x0, y0, x1, y1] from index 4·id.
  const boxes = [0, 0, 0, 0];
  const stack = new Int32Array(n);
  for (let start = 0; start < n; start++) {
    if (v[start] <= t || labels[start] !== 0) continue;
    const id = areas.length;
    let area = 0;
    let top = 0;
    let bx0 = w;
    let by0 = h;
    let bx1 = -1;
    let by1 = -1;
    stack[top++] = start;
    labels[start] = id;
    while (top > 0) {
      const p = stack[--top];
      area++;
      const px = p % w;
      const py = (p - px) / w;
      if (px < bx0) bx0 = px;
      if (px > bx1) bx1 = px;
      if (py < by0) by0 = py;
      if (py > by1) by1 = py;
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
    boxes.push(bx0, by0, bx1, by1);
  }
  let largest = 0;
  for (const a of areas) largest = Math.max(largest, a);
  const keep = areas.map((a, i) => i > 0 && a >= Math.max(2, SPECK_FRACTION * largest));
  // The kept components' bounding box: everything below happens near them, so only there.
  let kx0 = w;
  let ky0 = h;
  let kx1 = -1;
  let ky1 = -1;
  let keptArea = 0;
  for (let id = 1; id < areas.length; id++) {
    if (!keep[id]) continue;
    keptArea += areas[id];
    kx0 = Math.min(kx0, boxes[4 * id]);
    ky0 = Math.min(ky0, boxes[4 * id + 1]);
    kx1 = Math.max(kx1, boxes[4 * id + 2]);
    ky1 = Math.max(ky1, boxes[4 * id + 3]);
  }
  if (kx1 < 0) throw noDigit('the marks in it are too small'); // only specks of one pixel
  const kept = new Uint8Array(n);
  let boundary = 0;
  for (let y = ky0; y <= ky1; y++) {
    for (let i = y * w + kx0, end = y * w + kx1; i <= end; i++) if (keep[labels[i]]) kept[i] = 1;
  }
  for (let y = ky0; y <= ky1; y++) {
    for (let x = kx0, i = y * w + kx0; x <= kx1; x++, i++) {
      if (!kept[i]) continue;
      if (
        x === 0 ||
        x === w - 1 ||
        y === 0 ||
        y === h - 1 ||
        !kept[i - 1] ||
        !kept[i + 1] ||
        !kept[i - w] ||
        !kept[i + w]
      )
        boundary++;
    }
  }

  // Soft ink: a ramp from just above the background to the ink level keeps the anti-aliased edges; only
  // pixels near the kept components count (so faint noise elsewhere does not).
  const NEAR = 2;
  const wx0 = Math.max(0, kx0 - NEAR);
  const wy0 = Math.max(0, ky0 - NEAR);
  const ww = Math.min(w - 1, kx1 + NEAR) - wx0 + 1;
  const wh = Math.min(h - 1, ky1 + NEAR) - wy0 + 1;
  const window = new Uint8Array(ww * wh);
  for (let y = 0; y < wh; y++)
    window.set(kept.subarray((wy0 + y) * w + wx0, (wy0 + y) * w + wx0 + ww), y * ww);
  const near = dilate(window, ww, wh, NEAR);
  const lo = bg + 0.25 * (t - bg);
  const span = Math.max(1, ink - lo);
  const soft = new Float32Array(ww * wh); // over the window
  let x0 = w;
  let y0 = h;
  let x1 = -1;
  let y1 = -1;
  for (let wy = 0; wy < wh; wy++) {
    const y = wy0 + wy;
    for (let wx = 0; wx < ww; wx++) {
      const x = wx0 + wx;
      const i = y * w + x;
      if (!near[wy * ww + wx] || (labels[i] !== 0 && !kept[i])) continue;
      const s = Math.min(1, (v[i] - lo) / span);
      if (s <= 0) continue;
      soft[wy * ww + wx] = s * 255;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  const bw = x1 - x0 + 1;
  const bh = y1 - y0 + 1;
  if (x1 < 0 || Math.max(bw, bh) < Math.max(4, 0.02 * Math.max(w, h)))
    throw noDigit('the marks in it are too small');

  let crop: Float32Array = new Float32Array(bw * bh);
  for (let y = 0; y < bh; y++) {
    const from = (y0 - wy0 + y) * ww + (x0 - wx0);
    crop.set(soft.subarray(from, from + bw), y * bw);
  }

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
