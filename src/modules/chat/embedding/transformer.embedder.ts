import { normalizeText, NORMALIZER_VERSION } from '../text/normalize';
import { Embedder, EmbedderFactory, EmbedderState } from './embedder';
import { SentenceEncoder } from './sentence-encoder';

const BATCH = 32;

/**
 * What the encoder is given for a message: the chat's normalised text, with runs of three or more single
 * syllables written apart ("안 녕 하 세 요") joined, since a word-piece encoder reads them as unrelated
 * one-syllable words (the n-gram embedder is indifferent to spacing).
 */
export function encoderInput(raw: string): string {
  const s = normalizeText(raw) || raw;
  return s.replace(/(?<![가-힣])[가-힣](?: [가-힣](?![가-힣])){2,}/g, (run) => run.replace(/ /g, ''));
}

/** Sentence embeddings: mean pooling over the encoder's last hidden state, L2-normalised. */
export class TransformerEmbedder implements Embedder {
  readonly id: string;
  readonly dim: number;

  constructor(private readonly encoder: SentenceEncoder) {
    this.id = transformerId(encoder);
    this.dim = encoder.dim;
  }

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (let i = 0; i < texts.length; i += BATCH) {
      const batch = texts.slice(i, i + BATCH).map(encoderInput);
      const data = await this.encoder.encode(batch);
      for (let r = 0; r < batch.length; r++) out.push(data.subarray(r * this.dim, (r + 1) * this.dim));
    }
    return out;
  }

  describe(): Record<string, unknown> {
    return {
      embedder: 'transformer',
      model: this.encoder.name,
      modelType: this.encoder.modelType,
      dim: this.dim,
      pooling: 'mean',
      sha256: this.encoder.sha256,
    };
  }
}

export function transformerId(encoder: SentenceEncoder): string {
  return `transformer:v2:norm${NORMALIZER_VERSION}:${encoder.name}:${encoder.sha256.slice(0, 16)}:mean`;
}

/** A pre-trained encoder has nothing to fit: the same embedder serves every corpus. */
export class TransformerFactory implements EmbedderFactory {
  readonly id: string;
  private readonly embedder: TransformerEmbedder;
  constructor(encoder: SentenceEncoder) {
    this.embedder = new TransformerEmbedder(encoder);
    this.id = this.embedder.id;
  }
  fit(): Promise<Embedder> {
    return Promise.resolve(this.embedder);
  }
  restore(_state: EmbedderState | undefined): Promise<Embedder> {
    return Promise.resolve(this.embedder);
  }
}
