/** Grey-level statistics of a histogram: thresholds and percentiles (pure functions). */

export function clamp(x: number, lo: number, hi: number): number {
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
export function percentile(hist: Uint32Array, from: number, to: number, q: number): number {
  let total = 0;
  for (let k = from; k <= to; k++) total += hist[k];
  let acc = 0;
  for (let k = from; k <= to; k++) {
    acc += hist[k];
    if (acc >= q * total) return k;
  }
  return to;
}
