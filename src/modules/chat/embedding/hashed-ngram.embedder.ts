import { decomposeSyllable } from '../text/hangul';
import { normalizeText, NORMALIZER_VERSION } from '../text/normalize';
import { Embedder, EmbedderFactory, EmbedderState, l2normalize } from './embedder';

export interface HashedNgramOptions {
  /** Vector length (hash buckets). */
  dim: number;
  /** Syllable (character) n-gram sizes. */
  charN: readonly number[];
  /** Jamo n-gram sizes (syllables decomposed into 초성/중성/종성). */
  jamoN: readonly number[];
  /** Weight of jamo n-grams relative to syllable n-grams. */
  jamoWeight: number;
}

export const HASHED_NGRAM_DEFAULTS: HashedNgramOptions = {
  dim: 2048,
  charN: [1, 2, 3],
  jamoN: [2, 3, 4],
  jamoWeight: 0.5,
};

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * FNV-1a (32 bits) of an n-gram: a tag (family and n) then the UTF-16 code units of its items, without
 * building the n-gram's string. Stable across platforms and releases.
 */
function hashGram(tag: number, seq: readonly string[], start: number, n: number): number {
  let h = Math.imul(FNV_OFFSET ^ tag, FNV_PRIME);
  for (let k = start; k < start + n; k++) {
    const item = seq[k];
    for (let c = 0; c < item.length; c++) h = Math.imul(h ^ item.charCodeAt(c), FNV_PRIME);
  }
  return h >>> 0;
}

const UNIT = /[\p{L}\p{N}\p{Extended_Pictographic}]/u;

/** Units of a normalised message, spacing and punctuation ignored: letters, digits, emoji. */
function units(normalized: string): string[] {
  const out: string[] = [];
  for (const ch of normalized) if (UNIT.test(ch)) out.push(ch);
  return out;
}

/**
 * Sparse features of one message: hash bucket → weighted, signed, sublinear term frequency. Syllable
 * n-grams carry the words; jamo n-grams make the match tolerant of typos and playful spellings
 * (반가웡/반가워, 안뇽/안녕).
 */
export function ngramFeatures(text: string, o: HashedNgramOptions): Map<number, number> {
  // n-gram hash → count, per family (syllables, jamo).
  const syllables = new Map<number, number>();
  const jamoGrams = new Map<number, number>();
  const count = (m: Map<number, number>, h: number) => m.set(h, (m.get(h) ?? 0) + 1);
  const chars = units(normalizeText(text));
  if (chars.length > 0) {
    const padded = ['^', ...chars, '$'];
    for (const n of o.charN) {
      // Unigrams without the boundary markers; longer n-grams see the start and the end of the message.
      const seq = n === 1 ? chars : padded;
      for (let i = 0; i + n <= seq.length; i++) count(syllables, hashGram(n, seq, i, n));
    }
    if (o.jamoWeight > 0) {
      const jamo = ['^', ...chars.flatMap(decomposeSyllable), '$'];
      for (const n of o.jamoN)
        for (let i = 0; i + n <= jamo.length; i++) count(jamoGrams, hashGram(100 + n, jamo, i, n));
    }
  }
  const feats = new Map<number, number>();
  const put = (grams: Map<number, number>, weight: number) => {
    for (const [h, c] of grams) {
      const bucket = h % o.dim;
      // The sign from another bit of the hash keeps collisions unbiased (feature hashing, Weinberger 2009).
      const sign = h >>> 31 ? -1 : 1;
      feats.set(bucket, (feats.get(bucket) ?? 0) + sign * weight * (1 + Math.log(c)));
    }
  };
  put(syllables, 1);
  put(jamoGrams, o.jamoWeight);
  return feats;
}

/**
 * The built-in embedder (no download): hashed character n-grams of Hangul syllables and jamo, weighted by
 * sublinear TF × IDF fitted on the corpus questions, in a fixed-size dense vector, L2-normalised.
 */
export class HashedNgramEmbedder implements Embedder {
  readonly dim: number;
  readonly id: string;

  constructor(
    private readonly options: HashedNgramOptions,
    /** IDF per bucket; buckets never seen in the corpus get the largest IDF. */
    private readonly idf: Float32Array,
    private readonly documents: number,
  ) {
    this.dim = options.dim;
    this.id = hashedNgramId(options);
  }

  static fit(
    texts: readonly string[],
    options: HashedNgramOptions = HASHED_NGRAM_DEFAULTS,
  ): HashedNgramEmbedder {
    const df = new Uint32Array(options.dim);
    for (const t of texts) for (const bucket of ngramFeatures(t, options).keys()) df[bucket]++;
    const n = texts.length;
    const idf = new Float32Array(options.dim);
    // Smoothed IDF (as scikit-learn's): ln((1 + n) / (1 + df)) + 1.
    for (let i = 0; i < idf.length; i++) idf[i] = Math.log((1 + n) / (1 + df[i])) + 1;
    return new HashedNgramEmbedder(options, idf, n);
  }

  static restore(state: EmbedderState | undefined, options: HashedNgramOptions): HashedNgramEmbedder {
    const s = state as { idf?: unknown; documents?: unknown } | undefined;
    if (typeof s?.idf !== 'string' || typeof s.documents !== 'number')
      throw new Error('the saved hashed-ngram state has no IDF weights');
    const bytes = Buffer.from(s.idf, 'base64');
    if (bytes.length !== options.dim * 4)
      throw new Error('the saved IDF weights do not match CHAT_EMBED_DIM');
    const idf = new Float32Array(options.dim);
    Buffer.from(idf.buffer).set(bytes);
    return new HashedNgramEmbedder(options, idf, s.documents);
  }

  embedOne(text: string): Float32Array {
    const v = new Float32Array(this.dim);
    for (const [bucket, tf] of ngramFeatures(text, this.options)) v[bucket] = tf * this.idf[bucket];
    return l2normalize(v);
  }

  embed(texts: readonly string[]): Promise<Float32Array[]> {
    return Promise.resolve(texts.map((t) => this.embedOne(t)));
  }

  state(): EmbedderState {
    return {
      idf: Buffer.from(this.idf.buffer, this.idf.byteOffset, this.idf.byteLength).toString('base64'),
      documents: this.documents,
    };
  }

  describe(): Record<string, unknown> {
    return { embedder: 'hashed-ngram', ...this.options, fittedOn: this.documents };
  }
}

export function hashedNgramId(o: HashedNgramOptions): string {
  return `hashed-ngram:v2:norm${NORMALIZER_VERSION}:d${o.dim}:c${o.charN.join('')}:j${o.jamoN.join('')}x${o.jamoWeight}`;
}

export class HashedNgramFactory implements EmbedderFactory {
  readonly id: string;
  constructor(private readonly options: HashedNgramOptions = HASHED_NGRAM_DEFAULTS) {
    this.id = hashedNgramId(options);
  }
  async fit(texts: readonly string[]): Promise<Embedder> {
    return HashedNgramEmbedder.fit(texts, this.options);
  }
  async restore(state: EmbedderState | undefined): Promise<Embedder> {
    return HashedNgramEmbedder.restore(state, this.options);
  }
}
