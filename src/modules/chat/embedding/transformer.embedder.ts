import type { FeatureExtractionPipeline } from '@huggingface/transformers';
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ModelMissingError } from '../../models/model-registry';
import { normalizeText, NORMALIZER_VERSION } from '../text/normalize';
import { Embedder, EmbedderFactory, EmbedderState } from './embedder';

/** Files a sentence encoder needs, in the Hugging Face layout that `optimum-cli export onnx` writes. */
export const ENCODER_FILES = ['config.json', 'tokenizer.json', 'onnx/model.onnx'] as const;

export const ENCODER_HINT =
  'export a sentence encoder into MODELS_DIR in the Hugging Face ONNX layout (config.json, tokenizer.json, ' +
  'onnx/model.onnx), e.g. with `optimum-cli export onnx --model jhgan/ko-sroberta-multitask ' +
  '--task feature-extraction`; see training/sentence-encoder/README.md';

/** A loaded sentence encoder: a transformers.js feature-extraction pipeline over local files only. */
export interface SentenceEncoder {
  name: string;
  dir: string;
  dim: number;
  /** sha256 over config.json, tokenizer.json and the ONNX weights: a new model means a new index. */
  sha256: string;
  modelType: string;
  /** The model's measured scores (`scores.json` beside it, written by its evaluation), shown in /models. */
  scores?: Record<string, unknown>;
  pipe: FeatureExtractionPipeline;
}

async function sha256Files(files: string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const f of files) {
    await new Promise<void>((resolve, reject) => {
      createReadStream(f)
        .on('data', (chunk) => hash.update(chunk))
        .on('end', resolve)
        .on('error', reject);
    });
  }
  return hash.digest('hex');
}

/**
 * Loads `MODELS_DIR/<name>` with `@huggingface/transformers`: remote downloads off, local files only, fp32
 * `onnx/model.onnx` on the CPU. Missing files raise ModelMissingError (status `missing` in /models).
 */
export async function loadSentenceEncoder(modelsDir: string, name: string): Promise<SentenceEncoder> {
  const root = path.resolve(modelsDir);
  const dir = path.join(root, name);
  const missing: string[] = [];
  for (const f of ENCODER_FILES) {
    if (!(await fs.stat(path.join(dir, f)).catch(() => null))?.isFile()) missing.push(f);
  }
  if (missing.length > 0)
    throw new ModelMissingError(`${path.relative(process.cwd(), dir) || dir} lacks ${missing.join(', ')}`);
  const config = JSON.parse(await fs.readFile(path.join(dir, 'config.json'), 'utf8')) as {
    model_type?: string;
  };
  const { pipeline, env } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = root + path.sep;
  const pipe = (await pipeline('feature-extraction', name, {
    local_files_only: true,
    dtype: 'fp32',
    device: 'cpu',
  })) as FeatureExtractionPipeline;
  const probe = await pipe('안녕하세요', { pooling: 'mean', normalize: true });
  const dim = probe.dims[probe.dims.length - 1];
  const sha256 = await sha256Files(ENCODER_FILES.map((f) => path.join(dir, f)));
  const scores = await fs
    .readFile(path.join(dir, 'scores.json'), 'utf8')
    .then((t) => JSON.parse(t) as Record<string, unknown>)
    .catch(() => undefined);
  return { name, dir, dim, sha256, modelType: config.model_type ?? 'unknown', scores, pipe };
}

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
      const tensor = await this.encoder.pipe(batch, { pooling: 'mean', normalize: true });
      const data = tensor.data as Float32Array;
      for (let r = 0; r < batch.length; r++)
        out.push(Float32Array.from(data.subarray(r * this.dim, (r + 1) * this.dim)));
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
