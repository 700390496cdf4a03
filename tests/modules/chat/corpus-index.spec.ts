import { IndexFlatIP } from 'faiss-node';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadCorpusFile } from '../../../src/modules/chat/corpus/corpus-loader';
import {
  HASHED_NGRAM_DEFAULTS,
  HashedNgramEmbedder,
} from '../../../src/modules/chat/embedding/hashed-ngram.embedder';
import {
  autoNlist,
  CorpusIndex,
  INDEX_DEFAULTS,
  IndexOptions,
} from '../../../src/modules/chat/index/corpus-index';
import {
  faissHasBlas,
  FlatIpBuffer,
  flatLayoutMatches,
  hnswParams,
  withIvfNprobe,
} from '../../../src/modules/chat/index/faiss-params';
import { CHATBOT_DATA } from '../../support/chat-fixtures';

/** Real vectors: ChatbotData questions through the hashed embedder (smaller, for speed). */
describe('CorpusIndex (FAISS through faiss-node)', () => {
  const N = 3000;
  let questions: string[];
  let queries: string[];
  let embedder: HashedNgramEmbedder;
  let dir: string;
  const rows = (ids: readonly number[]) => Promise.resolve(ids.map((i) => embedder.embedOne(questions[i])));
  const opts = (o: Partial<IndexOptions>): IndexOptions => ({ ...INDEX_DEFAULTS, ...o });

  beforeAll(async () => {
    const entries = (await loadCorpusFile(CHATBOT_DATA)).entries;
    questions = entries.slice(0, N).map((e) => e.q);
    // Queries that are not in the index: answers of the same rows.
    queries = entries.slice(0, 300).map((e) => e.a);
    embedder = HashedNgramEmbedder.fit(questions, { ...HASHED_NGRAM_DEFAULTS, dim: 512 });
    dir = mkdtempSync(path.join(tmpdir(), 'chat-index-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const top1 = (index: CorpusIndex) => queries.map((q) => index.search(embedder.embedOne(q), 1)[0]?.id);
  const recall = (a: (number | undefined)[], b: (number | undefined)[]) =>
    a.filter((x, i) => x === b[i]).length / a.length;

  it('flat: exact inner product, each question its own nearest neighbour', async () => {
    const flat = await CorpusIndex.build(N, 512, rows, opts({ kind: 'flat' }));
    expect(flat.size).toBe(N);
    for (const i of [0, 17, 1234, N - 1]) {
      const [hit] = flat.search(embedder.embedOne(questions[i]), 1);
      expect(hit.score).toBeCloseTo(1, 4);
      expect(questions[hit.id]).toBe(questions[i]);
    }
    const hits = flat.search(embedder.embedOne('여자친구랑 헤어졌어'), 5);
    expect(hits).toHaveLength(5);
    for (let i = 1; i < hits.length; i++) expect(hits[i].score).toBeLessThanOrEqual(hits[i - 1].score);
    expect(flat.search(embedder.embedOne('x'), 10_000)).toHaveLength(N);
    expect(flat.describe()).toEqual({ type: 'flat', metric: 'inner-product', vectors: N, dim: 512 });
  });

  // HNSW building is the slow one (FAISS's distro build, shared CPUs): a third of the vectors.
  const H = 1000;

  it('hnsw: runs with the configured efConstruction/efSearch and finds what flat finds', async () => {
    const flat = await CorpusIndex.build(H, 512, rows, opts({ kind: 'flat' }));
    const hnsw = await CorpusIndex.build(
      H,
      512,
      rows,
      opts({ kind: 'hnsw', hnswM: 16, hnswEfConstruction: 100, hnswEfSearch: 96 }),
    );
    expect(hnsw.describe()).toMatchObject({
      type: 'hnsw',
      M: 16,
      efConstruction: 100,
      efSearch: 96,
      vectors: H,
    });
    expect(recall(top1(hnsw), top1(flat))).toBeGreaterThan(0.95);
  });

  it('ivf: trains its lists, probes the configured number, and is exact when it probes them all', async () => {
    if (!faissHasBlas()) {
      // faiss-node linked without BLAS would kill the process in training: the index refuses instead.
      await expect(CorpusIndex.build(N, 512, rows, opts({ kind: 'ivf' }))).rejects.toThrow(
        /needs FAISS with BLAS/,
      );
      return;
    }
    const flat = top1(await CorpusIndex.build(N, 512, rows, opts({ kind: 'flat' })));
    const nlist = autoNlist(N);
    const built = await CorpusIndex.build(N, 512, rows, opts({ kind: 'ivf', ivfNprobe: 1 }));
    const file = path.join(dir, 'ivf.faiss');
    await built.write(file);
    // The same trained index, read back with other nprobe values.
    const ivf = async (nprobe: number) => {
      const index = await CorpusIndex.read(file, opts({ kind: 'ivf', ivfNprobe: nprobe }));
      expect(index.describe()).toMatchObject({ type: 'ivf', nlist, nprobe, vectors: N });
      return recall(top1(index), flat);
    };
    const one = await ivf(1);
    const some = await ivf(16);
    const all = await ivf(nlist);
    // FAISS's default (nprobe 1) misses many; more probes find more; probing every list is exact.
    expect(some).toBeGreaterThan(one);
    expect(all).toBeGreaterThan(some);
    expect(all).toBeGreaterThanOrEqual(0.99);
  });

  it('writes atomically and reads back the same index, with search options from the reader', async () => {
    const hnsw = await CorpusIndex.build(H, 512, rows, opts({ kind: 'hnsw', hnswM: 16, hnswEfSearch: 32 }));
    const file = path.join(dir, 'h.faiss');
    await hnsw.write(file);
    const again = await CorpusIndex.read(file, opts({ kind: 'hnsw', hnswM: 16, hnswEfSearch: 128 }));
    expect(again.size).toBe(H);
    expect(again.dim).toBe(512);
    expect(again.describe()).toMatchObject({ efSearch: 128, efConstruction: 80 });
    const q = embedder.embedOne(questions[42]);
    expect(again.search(q, 1)[0].id).toBe(hnsw.search(q, 1)[0].id);

    const flat = await CorpusIndex.build(N, 512, rows, opts({ kind: 'flat' }));
    await flat.write(path.join(dir, 'f.faiss'));
    const flatAgain = await CorpusIndex.read(path.join(dir, 'f.faiss'), opts({ kind: 'flat' }));
    expect(flatAgain.search(q, 5)).toEqual(flat.search(q, 5));
  });

  it('refuses to patch parameters of an index of another type', () => {
    const flat = new IndexFlatIP(4);
    expect(() => hnswParams(flat)).toThrow(/not a serialised IndexHNSWFlat/);
    expect(() => withIvfNprobe(flat, 4, 4)).toThrow(/not a serialised IndexIVFFlat/);
  });

  it('chooses the IVF list count from the corpus size', () => {
    expect(autoNlist(100)).toBe(2);
    expect(autoNlist(12_000)).toBe(307);
    expect(autoNlist(1_000_000)).toBe(4000);
    expect(autoNlist(10)).toBe(1);
  });
});

describe('FlatIpBuffer (a flat index written in FAISS serialised form)', () => {
  it('writes byte for byte what FAISS writes, and searches the same', () => {
    expect(flatLayoutMatches()).toBe(true);
    const dim = 16;
    const vectors = Array.from({ length: 50 }, (_, i) =>
      Float32Array.from({ length: dim }, (_, j) => Math.sin(i * 1.7 + j)),
    );
    const ours = new FlatIpBuffer(dim, vectors.length);
    vectors.forEach((v, i) => ours.set(i, v));
    const theirs = new IndexFlatIP(dim);
    theirs.add(vectors.flatMap((v) => Array.from(v)));
    expect(ours.buffer.equals(theirs.toBuffer())).toBe(true);
    const index = ours.toIndex();
    expect(index.ntotal()).toBe(50);
    expect(index.search(Array.from(vectors[7]), 3)).toEqual(theirs.search(Array.from(vectors[7]), 3));
    expect(() => ours.set(0, new Float32Array(3))).toThrow(/3 dimensions instead of 16/);
  });
});
