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
    const yEnd = Math.min(h, (by + 1) * block);
    for (let bx = 0; bx < gx; bx++) {
      hist.fill(0);
      const xEnd = Math.min(w, (bx + 1) * block);
      let count = 0;
      for (let y = by * block; y < yEnd; y++) {
        for (let i = y * w + bx * block, end = y * w + xEnd; i < end; i++) hist[v[i]]++;
        count += xEnd - bx * block;
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
  // Bilinear over the block grid; what depends on x alone is worked out once per column, not per pixel.
  const cx0 = new Int32Array(w);
  const cx1 = new Int32Array(w);
  const cwx = new Float64Array(w);
  for (let x = 0; x < w; x++) {
    const fx = clamp((x + 0.5) / block - 0.5, 0, gx - 1);
    cx0[x] = Math.floor(fx);
    cx1[x] = Math.min(gx - 1, cx0[x] + 1);
    cwx[x] = fx - cx0[x];
  }
  // Rows between the same two grid rows share their top and bottom interpolations along x.
  const top = new Float64Array(w);
  const bottom = new Float64Array(w);
  let band = -1;
  const out = new Uint8Array(v.length);
  for (let y = 0; y < h; y++) {
    const fy = clamp((y + 0.5) / block - 0.5, 0, gy - 1);
    const y0 = Math.floor(fy);
    const wy = fy - y0;
    if (y0 !== band) {
      band = y0;
      const r0 = y0 * gx;
      const r1 = Math.min(gy - 1, y0 + 1) * gx;
      for (let x = 0; x < w; x++) {
        const x0 = cx0[x];
        const x1 = cx1[x];
        const wx = cwx[x];
        top[x] = smooth[r0 + x0] * (1 - wx) + smooth[r0 + x1] * wx;
        bottom[x] = smooth[r1 + x0] * (1 - wx) + smooth[r1 + x1] * wx;
      }
    }
    const wt = 1 - wy;
    for (let x = 0, i = y * w; x < w; x++, i++) {
      // Math.round(v − level), clamped to 0-255, at a fraction of its cost: truncating (`| 0`) after
      // adding 0.5 rounds halves up as Math.round does; what it truncates toward zero below 0 is clamped.
      const d = (v[i] - (top[x] * wt + bottom[x] * wy) + 0.5) | 0;
      out[i] = d < 0 ? 0 : d > 255 ? 255 : d;
    }
  }
  return out;
}

/** The median grey level of the image's border ring (4 % of the shorter side, at least one pixel). */
export function borderMedian(src: Uint8Array, w: number, h: number): number {
  const ring = Math.max(1, Math.round(0.04 * Math.min(w, h)));
  const hist = new Uint32Array(256);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    if (y < ring || y >= h - ring) {
      for (let x = 0; x < w; x++) hist[src[row + x]]++;
      continue;
    }
    for (let x = 0; x < Math.min(ring, w); x++) hist[src[row + x]]++;
    for (let x = Math.max(ring, w - ring); x < w; x++) hist[src[row + x]]++;
  }
  return percentile(hist, 0, 255, 0.5);
}
