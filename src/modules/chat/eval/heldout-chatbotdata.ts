import { parse } from 'csv-parse/sync';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

export interface QaPair {
  q: string;
  a: string;
}

/** training/gpt2/data.py's clean(): NFC, whitespace runs to one space, trimmed. */
export function clean(text: string): string {
  return text.normalize('NFC').split(/\s+/u).filter(Boolean).join(' ');
}

/**
 * training/gpt2/data.py's split_pairs(): a question is held out when the first 4 bytes of
 * sha1("<seed>:<question>") fall under val_fraction of the range. The chat GPT-2 never trains on these.
 */
export function isHeldOut(q: string, fraction = 0.05, seed = 42): boolean {
  const h = createHash('sha1').update(`${seed}:${q}`, 'utf8').digest();
  return h.readUInt32BE(0) < Math.floor(fraction * 2 ** 32);
}

/** Which half of the held-out questions a question is in: 'calibrate' (gate threshold) or 'report'. */
export function heldOutHalf(q: string): 'calibrate' | 'report' {
  return createHash('sha1').update(`half:${q}`, 'utf8').digest()[0] % 2 === 0 ? 'calibrate' : 'report';
}

/** ChatbotData pairs (cleaned, exact duplicates dropped), split into training and held-out questions. */
export function chatbotDataSplit(csvPath: string): { train: QaPair[]; heldOut: QaPair[] } {
  const rows = parse(readFileSync(csvPath), { bom: true, columns: true, skip_empty_lines: true }) as Record<
    string,
    string
  >[];
  const seen = new Set<string>();
  const train: QaPair[] = [];
  const heldOut: QaPair[] = [];
  for (const r of rows) {
    const q = clean(r.Q ?? '');
    const a = clean(r.A ?? '');
    const key = `${q}\u0000${a}`;
    if (!q || !a || seen.has(key)) continue;
    seen.add(key);
    (isHeldOut(q) ? heldOut : train).push({ q, a });
  }
  return { train, heldOut };
}
