import { ServiceUnavailableException } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Piscina } from 'piscina';
import { workerFile } from '../../../common/workers/worker-file';
import { ModelMissingError } from '../../models/model-registry';
import type { EncoderTask, EncoderWorkerInit } from './sentence-encoder.worker';

/** Files a sentence encoder needs, in the Hugging Face layout that `optimum-cli export onnx` writes. */
export const ENCODER_FILES = ['config.json', 'tokenizer.json', 'onnx/model.onnx'] as const;

export const ENCODER_HINT =
  'export a sentence encoder into MODELS_DIR in the Hugging Face ONNX layout (config.json, tokenizer.json, ' +
  'onnx/model.onnx), e.g. with `optimum-cli export onnx --model jhgan/ko-sroberta-multitask ' +
  '--task feature-extraction`; see training/sentence-encoder/README.md';

/** Batches waiting for the encoder beyond the one it runs: more is a flood, answered 503 at once. */
const MAX_QUEUE = 256;

/** A loaded sentence encoder, running in a worker thread of its own. */
export interface SentenceEncoder {
  name: string;
  dir: string;
  dim: number;
  /** sha256 over config.json, tokenizer.json and the ONNX weights: a new model means a new index. */
  sha256: string;
  modelType: string;
  /** The model's measured scores (`scores.json` beside it, written by its evaluation), shown in /models. */
  scores?: Record<string, unknown>;
  /**
   * Mean-pooled, L2-normalised embeddings of `texts` exactly as given (no normalisation of the text), row
   * after row: `texts.length × dim` numbers.
   */
  encode(texts: string[]): Promise<Float32Array>;
  /** Stops the worker. */
  dispose(): Promise<void>;
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
 * Loads `MODELS_DIR/<name>` with `@huggingface/transformers` in a worker thread: remote downloads off, local
 * files only, fp32 `onnx/model.onnx` on the CPU. Missing files raise ModelMissingError (status `missing` in
 * /models).
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
  const script = workerFile(__dirname, 'sentence-encoder.worker');
  const init: EncoderWorkerInit = { modelsDir: root + path.sep, model: name };
  const pool = new Piscina({
    filename: script.filename,
    workerData: { ...script.workerData, ...init },
    minThreads: 1,
    maxThreads: 1,
    concurrentTasksPerWorker: 1,
    maxQueue: MAX_QUEUE,
    idleTimeout: 0,
  });
  const run = (task: EncoderTask) => pool.run(task);
  let dim: number;
  try {
    ({ dim } = (await run({ kind: 'load' })) as { dim: number });
  } catch (err) {
    await pool.destroy();
    throw err;
  }
  const sha256 = await sha256Files(ENCODER_FILES.map((f) => path.join(dir, f)));
  const scores = await fs
    .readFile(path.join(dir, 'scores.json'), 'utf8')
    .then((t) => JSON.parse(t) as Record<string, unknown>)
    .catch(() => undefined);
  return {
    name,
    dir,
    dim,
    sha256,
    modelType: config.model_type ?? 'unknown',
    scores,
    encode: async (texts) => {
      try {
        return (await run({ kind: 'encode', texts })) as Float32Array;
      } catch (err) {
        if (err instanceof Error && /queue is at limit/i.test(err.message))
          throw new ServiceUnavailableException('The sentence encoder is busy; try again in a moment.');
        throw err;
      }
    },
    dispose: async () => {
      await run({ kind: 'release' }).catch(() => undefined);
      await pool.destroy();
    },
  };
}
