/**
 * Turns texts into L2-normalised vectors whose inner product says how alike two messages are. The
 * retrieval index and the chat policy only know this interface; which embedder runs is configuration
 * (`CHAT_EMBEDDER`).
 */
export interface Embedder {
  /** Identity of the embedder and every parameter that changes its vectors (part of the index fingerprint). */
  readonly id: string;
  /** Length of every vector. */
  readonly dim: number;
  /** One unit-length vector per text, in order. Texts are raw: the embedder normalises them itself. */
  embed(texts: readonly string[]): Promise<Float32Array[]>;
  /** State fitted on the corpus (e.g. IDF weights), saved beside the index; undefined when there is none. */
  state?(): EmbedderState;
  /** Facts for /models. */
  describe(): Record<string, unknown>;
}

export type EmbedderState = Record<string, unknown>;

/**
 * Makes embedders for a corpus. `id` identifies the kind and its parameters before fitting; `fit` adapts it
 * to a corpus (e.g. TF-IDF weights; a pre-trained encoder ignores the texts) and `restore` brings a fitted
 * embedder back from its saved state, so a persisted index is served without re-embedding the corpus.
 */
export interface EmbedderFactory {
  readonly id: string;
  fit(texts: readonly string[]): Promise<Embedder>;
  restore(state: EmbedderState | undefined): Promise<Embedder>;
}

export function l2normalize(v: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i] * v[i];
  const norm = Math.sqrt(sum);
  if (norm > 0) for (let i = 0; i < v.length; i++) v[i] /= norm;
  return v;
}
