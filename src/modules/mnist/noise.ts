import { randomInt } from 'node:crypto';

/** A small, fast seeded PRNG (mulberry32): the same seed gives the same sequence on every platform. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal samples by the Box-Muller transform (two per pair of uniforms). */
export function gaussian(random: () => number): () => number {
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = random(); // log(0) is -Infinity
    const v = random();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

/** A seed for callers that gave none. */
export function randomSeed(): number {
  return randomInt(0, 2 ** 31 - 1);
}

/**
 * Adds Gaussian noise (mean 0, standard deviation `sigma`) to 8-bit pixels and clips to 0..255, as the
 * original FastAPI service did with `np.clip(image + np.random.normal(0, 15, image.shape), 0, 255)`.
 * The same seed gives the same image.
 */
export function addGaussianNoise(pixels: Uint8Array, seed: number, sigma = 15): Uint8Array {
  const normal = gaussian(mulberry32(seed));
  const out = new Uint8Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) {
    const v = pixels[i] + sigma * normal();
    // uint8 cast after the clip truncates toward zero, as numpy's astype(np.uint8) does.
    out[i] = v <= 0 ? 0 : v >= 255 ? 255 : Math.trunc(v);
  }
  return out;
}
