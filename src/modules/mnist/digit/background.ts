import { clamp, percentile } from './thresholds';

/** Background flattening: only for images at least this big, whose background varies by this much. */
const FLATTEN_MIN_SIDE = 64;
const FLATTEN_MIN_SPREAD = 24;

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

export function borderValues(src: Uint8Array, w: number, h: number): Uint8Array {
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

export function median(values: Uint8Array): number {
  const hist = new Uint32Array(256);
  for (const v of values) hist[v]++;
  return percentile(hist, 0, 255, 0.5);
}
