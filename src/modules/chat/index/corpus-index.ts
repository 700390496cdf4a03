import { writeFileAtomic } from '../../../common/fs/atomic-write';
import { Index, IndexFlatIP, MetricType } from 'faiss-node';
import { promises as fs } from 'node:fs';
import {
  faissHasBlas,
  FlatIpBuffer,
  flatLayoutMatches,
  hnswParams,
  ivfParams,
  withHnswParams,
  withIvfNprobe,
} from './faiss-params';

export const INDEX_KINDS = ['flat', 'hnsw', 'ivf'] as const;
export type IndexKind = (typeof INDEX_KINDS)[number];

export interface IndexOptions {
  /** flat: exact (IndexFlatIP); hnsw: graph (IndexHNSWFlat); ivf: inverted lists (IndexIVFFlat). */
  kind: IndexKind;
  hnswM: number;
  hnswEfConstruction: number;
  hnswEfSearch: number;
  /** 0 = chosen from the corpus size. */
  ivfNlist: number;
  ivfNprobe: number;
}

export const INDEX_DEFAULTS: IndexOptions = {
  kind: 'flat',
  hnswM: 32,
  hnswEfConstruction: 80,
  hnswEfSearch: 64,
  ivfNlist: 0,
  ivfNprobe: 16,
};

export interface IndexHit {
  /** Row of the corpus entry. */
  id: number;
  /** Inner product of unit vectors: cosine similarity, 1 = same direction. */
  score: number;
}

/** Rows embedded on demand, so that a big corpus is never held as one array of numbers. */
export type EmbedRows = (ids: readonly number[]) => Promise<Float32Array[]>;

const BATCH = 256;
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The IVF list count for n vectors: about 4√n, with at least 39 training points per list. */
export function autoNlist(n: number): number {
  return Math.max(1, Math.min(Math.round(4 * Math.sqrt(n)), Math.floor(n / 39)));
}

/** What goes into the fingerprint: options that change the built index (search-time ones do not). */
export function indexBuildId(o: IndexOptions): string {
  switch (o.kind) {
    case 'flat':
      return 'flat-ip';
    case 'hnsw':
      return `hnsw-ip:M${o.hnswM}:efc${o.hnswEfConstruction}`;
    case 'ivf':
      return `ivf-ip:nlist${o.ivfNlist || 'auto'}`;
  }
}

function toArray(vectors: readonly Float32Array[], dim: number): number[] {
  const out = new Array<number>(vectors.length * dim);
  let k = 0;
  for (const v of vectors) {
    if (v.length !== dim) throw new Error(`a vector has ${v.length} dimensions instead of ${dim}`);
    for (let i = 0; i < dim; i++) out[k++] = v[i];
  }
  return out;
}

/**
 * The FAISS index of the corpus questions (faiss-node), on unit vectors with inner-product metric. Immutable
 * once built; a corpus reload builds a new one and swaps it.
 */
export class CorpusIndex {
  private constructor(
    private readonly index: Index,
    readonly dim: number,
    readonly options: IndexOptions,
    /** FAISS's own view of its parameters, read back once (serialising a big index is not free). */
    private readonly params: Record<string, number>,
  ) {}

  get size(): number {
    return this.index.ntotal();
  }

  static async build(
    n: number,
    dim: number,
    embedRows: EmbedRows,
    options: IndexOptions,
  ): Promise<CorpusIndex> {
    if (n <= 0) throw new Error('cannot index an empty corpus');
    let index: Index;
    let nlist = 0;
    const all = Array.from({ length: n }, (_, i) => i);
    if (options.kind === 'flat' && flatLayoutMatches()) {
      // Written straight into FAISS's serialised form: one copy instead of a number-by-number add.
      const flat = new FlatIpBuffer(dim, n);
      for (let i = 0; i < n; i += BATCH) {
        (await embedRows(all.slice(i, i + BATCH))).forEach((v, j) => flat.set(i + j, v));
        await yieldToEventLoop();
      }
      return CorpusIndex.withSearchParams(flat.toIndex(), dim, options, 0);
    }
    switch (options.kind) {
      case 'flat':
        index = new IndexFlatIP(dim);
        break;
      case 'hnsw':
        index = withHnswParams(
          Index.fromFactory(dim, `HNSW${options.hnswM}`, MetricType.METRIC_INNER_PRODUCT),
          {
            efConstruction: options.hnswEfConstruction,
          },
        );
        break;
      case 'ivf': {
        if (!faissHasBlas())
          throw new Error(
            'CHAT_INDEX=ivf needs FAISS with BLAS, and this faiss-node was linked without it ' +
              '(rebuild it with `node scripts/install-native.js`, linking -llapack -lblas), or use flat or hnsw',
          );
        nlist = Math.min(options.ivfNlist || autoNlist(n), n);
        index = Index.fromFactory(dim, `IVF${nlist},Flat`, MetricType.METRIC_INNER_PRODUCT);
        // Train the coarse quantiser on an even sample (up to 100 points per list).
        const step = Math.max(1, n / Math.min(n, nlist * 100));
        const sample: number[] = [];
        for (let x = 0; x < n; x += step) sample.push(Math.floor(x));
        const vectors: Float32Array[] = [];
        for (let i = 0; i < sample.length; i += BATCH)
          vectors.push(...(await embedRows(sample.slice(i, i + BATCH))));
        index.train(toArray(vectors, dim));
        break;
      }
    }
    for (let i = 0; i < n; i += BATCH) {
      index.add(toArray(await embedRows(all.slice(i, i + BATCH)), dim));
      // Keep serving requests while a big corpus is indexed.
      await yieldToEventLoop();
    }
    return CorpusIndex.withSearchParams(index, dim, options, nlist);
  }

  /** Reads an index written by `write`; search-time options (efSearch, nprobe) come from `options`. */
  static async read(file: string, options: IndexOptions): Promise<CorpusIndex> {
    const index = Index.fromBuffer(await fs.readFile(file));
    const nlist = options.kind === 'ivf' ? ivfParams(index).nlist : 0;
    return CorpusIndex.withSearchParams(index, index.getDimension(), options, nlist);
  }

  private static withSearchParams(index: Index, dim: number, o: IndexOptions, nlist: number): CorpusIndex {
    let params: Record<string, number> = {};
    if (o.kind === 'hnsw') {
      index = withHnswParams(index, { efSearch: o.hnswEfSearch });
      params = { M: o.hnswM, ...hnswParams(index) };
    }
    if (o.kind === 'ivf') {
      index = withIvfNprobe(index, o.ivfNprobe, nlist);
      params = ivfParams(index);
    }
    return new CorpusIndex(index, dim, o, params);
  }

  /** The k nearest questions, best first. */
  search(vector: Float32Array, k: number): IndexHit[] {
    const n = this.size;
    if (n === 0 || k <= 0) return [];
    const { labels, distances } = this.index.search(toArray([vector], this.dim), Math.min(k, n));
    const hits: IndexHit[] = [];
    for (let i = 0; i < labels.length; i++)
      if (labels[i] >= 0) hits.push({ id: labels[i], score: distances[i] });
    return hits;
  }

  /** Writes the index atomically (a temporary file renamed into place). */
  write(file: string): Promise<void> {
    return writeFileAtomic(file, this.index.toBuffer());
  }

  describe(): Record<string, unknown> {
    return {
      type: this.options.kind,
      metric: 'inner-product',
      vectors: this.size,
      dim: this.dim,
      ...this.params,
    };
  }
}
