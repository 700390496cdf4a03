import { Embedder, EmbedderFactory, EmbedderState } from './embedder';

/**
 * Two embedders in one vector: [√w·a, √(1−w)·b]. Both parts are unit length, so the result is too, and its
 * inner product is w·sim_a + (1−w)·sim_b: a weighted sum of the two similarities, searched by one FAISS index.
 */
export class FusionEmbedder implements Embedder {
  readonly id: string;
  readonly dim: number;
  private readonly wa: number;
  private readonly wb: number;

  constructor(
    private readonly a: Embedder,
    private readonly b: Embedder,
    readonly weight: number,
  ) {
    this.id = fusionId(a.id, b.id, weight);
    this.dim = a.dim + b.dim;
    this.wa = Math.sqrt(weight);
    this.wb = Math.sqrt(1 - weight);
  }

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    const [va, vb] = await Promise.all([this.a.embed(texts), this.b.embed(texts)]);
    return va.map((x, i) => {
      const out = new Float32Array(this.dim);
      for (let k = 0; k < x.length; k++) out[k] = x[k] * this.wa;
      const y = vb[i];
      for (let k = 0; k < y.length; k++) out[x.length + k] = y[k] * this.wb;
      return out;
    });
  }

  state(): EmbedderState {
    return { a: this.a.state?.(), b: this.b.state?.() };
  }

  describe(): Record<string, unknown> {
    return { embedder: 'fusion', weight: this.weight, parts: [this.a.describe(), this.b.describe()] };
  }
}

function fusionId(a: string, b: string, weight: number): string {
  return `fusion:v1:${weight}:${a}+${b}`;
}

export class FusionFactory implements EmbedderFactory {
  readonly id: string;
  constructor(
    private readonly a: EmbedderFactory,
    private readonly b: EmbedderFactory,
    private readonly weight: number,
  ) {
    this.id = fusionId(a.id, b.id, weight);
  }

  async fit(texts: readonly string[]): Promise<Embedder> {
    return new FusionEmbedder(await this.a.fit(texts), await this.b.fit(texts), this.weight);
  }

  async restore(state: EmbedderState | undefined): Promise<Embedder> {
    const s = state as { a?: EmbedderState; b?: EmbedderState } | undefined;
    return new FusionEmbedder(await this.a.restore(s?.a), await this.b.restore(s?.b), this.weight);
  }
}
