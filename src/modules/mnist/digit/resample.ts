import { clamp } from './thresholds';

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
