/** Binary and grey morphology on row-major images (pure functions). */

/** Binary dilation with a (2r+1)² square, separable. */
export function dilate(mask: Uint8Array, w: number, h: number, r: number): Uint8Array {
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
export function maxFilter(src: Float32Array, w: number, h: number, r: number): Float32Array {
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
