import { IndexFlatIP } from 'faiss-node';
import { readFileSync } from 'node:fs';
import { Embedder } from '../embedding/embedder';
import { EvalContext, sharedDataset } from './eval-support';

/** Spearman's rank correlation (average ranks for ties). */
export function spearman(x: number[], y: number[]): number {
  const ranks = (v: number[]) => {
    const order = v.map((_, i) => i).sort((a, b) => v[a] - v[b]);
    const r = new Array<number>(v.length);
    for (let i = 0; i < order.length;) {
      let j = i;
      while (j + 1 < order.length && v[order[j + 1]] === v[order[i]]) j++;
      for (let k = i; k <= j; k++) r[order[k]] = (i + j) / 2;
      i = j + 1;
    }
    return r;
  };
  const rx = ranks(x);
  const ry = ranks(y);
  const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  const mx = mean(rx);
  const my = mean(ry);
  let cov = 0;
  let vx = 0;
  let vy = 0;
  for (let i = 0; i < rx.length; i++) {
    cov += (rx[i] - mx) * (ry[i] - my);
    vx += (rx[i] - mx) ** 2;
    vy += (ry[i] - my) ** 2;
  }
  return cov / Math.sqrt(vx * vy);
}

const dot = (a: Float32Array, b: Float32Array) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

/**
 * KorSTS test Spearman (cosine vs the gold score) and paraKQC top-1: each sentence of the held-out sets
 * (every fifth set, which the encoder never trained on) is searched among all 10,000 sentences; a hit is a
 * sentence of its own set. NaN when ../shared/datasets/korean is absent.
 */
export async function similarityScores(
  ctx: EvalContext,
  embedder: Embedder,
): Promise<{ korsts: number; parakqc: number }> {
  const sts = sharedDataset(ctx, 'korean', 'korsts-test.tsv');
  const para = sharedDataset(ctx, 'korean', 'paraKQC_v1.txt');
  let korsts = NaN;
  let parakqc = NaN;
  if (sts) {
    const rows = readFileSync(sts, 'utf8')
      .split('\n')
      .slice(1)
      .filter(Boolean)
      .map((l) => l.split('\t'));
    const a = await embedder.embed(rows.map((r) => r[5]));
    const b = await embedder.embed(rows.map((r) => r[6]));
    korsts = spearman(
      a.map((v, i) => dot(v, b[i])),
      rows.map((r) => Number(r[4])),
    );
  }
  if (para) {
    const texts = readFileSync(para, 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => l.split('\t')[2]);
    const vecs = await embedder.embed(texts);
    const index = new IndexFlatIP(embedder.dim);
    index.add(vecs.flatMap((v) => Array.from(v)));
    let hit = 0;
    let n = 0;
    for (let i = 0; i < texts.length; i++) {
      if (Math.floor(i / 10) % 5 !== 0) continue;
      const { labels } = index.search(Array.from(vecs[i]), 2);
      const best = labels[0] === i ? labels[1] : labels[0];
      n++;
      if (Math.floor(best / 10) === Math.floor(i / 10)) hit++;
    }
    parakqc = hit / n;
  }
  return { korsts, parakqc };
}
