import { IndexFlatIP, Index, MetricType } from 'faiss-node';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

/** FAISS is the real native engine (built against the system libfaiss by scripts/install-native.js). */
describe('faiss-node native engine', () => {
  const dim = 8;
  const vectors: number[][] = Array.from({ length: 200 }, (_, i) => {
    const v = Array.from({ length: dim }, (_, j) => Math.sin(i * 0.37 + j * 1.3) + (j === i % dim ? 1 : 0));
    const n = Math.hypot(...v);
    return v.map((x) => x / n);
  });

  it('builds an inner-product index, finds each vector as its own nearest neighbour', () => {
    const index = new IndexFlatIP(dim);
    index.add(vectors.flat());
    expect(index.ntotal()).toBe(200);
    for (const i of [0, 17, 199]) {
      const r = index.search(vectors[i], 3);
      expect(r.labels[0]).toBe(i);
      expect(r.distances[0]).toBeCloseTo(1, 5);
      expect(r.distances[1]).toBeLessThan(r.distances[0]);
    }
  });

  it('writes an index to disk and reads it back with the same answers', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'faiss-'));
    try {
      const index = new IndexFlatIP(dim);
      index.add(vectors.flat());
      const file = path.join(dir, 'test.index');
      index.write(file);
      expect(statSync(file).size).toBeGreaterThan(200 * dim * 4);
      const again = Index.read(file);
      expect(again.ntotal()).toBe(200);
      expect(again.search(vectors[42], 5)).toEqual(index.search(vectors[42], 5));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('builds an HNSW index through the index factory', () => {
    const index = Index.fromFactory(dim, 'HNSW16', MetricType.METRIC_INNER_PRODUCT);
    index.add(vectors.flat());
    expect(index.search(vectors[5], 1).labels[0]).toBe(5);
  });
});
