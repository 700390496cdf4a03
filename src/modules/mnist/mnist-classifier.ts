import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { ModelMissingError } from '../models/model-registry';

/** What the training script writes beside model.onnx (see training/mnist/train_cnn.py). */
export interface MnistModelConfig {
  input_name: string;
  output_name: string;
  /** Per image, without the batch axis: [1, 28, 28]. */
  input_shape: [number, number, number];
  normalization: { scale: number; mean: number; std: number };
  labels: string[];
  architecture?: string;
  parameters?: number;
  validation_accuracy?: number;
  opset?: number;
}

export interface DigitPrediction {
  /** The most probable digit. */
  digit: number;
  /** Its probability (softmax of the logits). */
  confidence: number;
  /** Probability of each digit 0-9. */
  probabilities: number[];
}

/** Largest batch given to onnxruntime in one run; bigger requests are split. */
const MAX_RUN_BATCH = 256;

function parseConfig(raw: unknown, file: string): MnistModelConfig {
  const c = raw as Partial<MnistModelConfig> | null;
  const problems: string[] = [];
  if (!c || typeof c !== 'object') throw new Error(`${file} is not a JSON object.`);
  if (typeof c.input_name !== 'string') problems.push('input_name');
  if (typeof c.output_name !== 'string') problems.push('output_name');
  const shape = c.input_shape;
  if (
    !Array.isArray(shape) ||
    shape.length !== 3 ||
    shape[0] !== 1 ||
    !shape.every((n) => Number.isInteger(n) && n > 0)
  )
    problems.push('input_shape ([1, rows, cols])');
  const n = c.normalization;
  if (!n || !(n.scale > 0) || typeof n.mean !== 'number' || !(n.std > 0))
    problems.push('normalization ({scale, mean, std})');
  if (!Array.isArray(c.labels) || c.labels.length !== 10) problems.push('labels (10 entries)');
  if (problems.length > 0) throw new Error(`${file} lacks or has invalid ${problems.join(', ')}.`);
  return c as MnistModelConfig;
}

/**
 * The digit classifier: one onnxruntime session, created once and reused by every request. Inputs are
 * MNIST-style images (white digit on black, 0-255 per pixel, row-major rows×cols) as Float32Arrays; the
 * normalisation from config.json is applied here, so every caller (HTTP, socket.io, eval script) shares it.
 */
export class MnistClassifier {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly config: MnistModelConfig,
    readonly modelFile: string,
    readonly modelBytes: number,
    readonly threads: number,
  ) {}

  /** Loads `<dir>/model.onnx` with `<dir>/config.json`; a missing folder or file is a ModelMissingError. */
  static async load(dir: string, threads = 1): Promise<MnistClassifier> {
    const modelFile = path.join(dir, 'model.onnx');
    const configFile = path.join(dir, 'config.json');
    for (const f of [modelFile, configFile]) {
      if (!existsSync(f))
        throw new ModelMissingError(`${path.relative(process.cwd(), f) || f} does not exist`);
    }
    let raw: unknown;
    try {
      raw = JSON.parse(await fs.readFile(configFile, 'utf8'));
    } catch (err) {
      throw new Error(`${configFile} is not valid JSON: ${(err as Error).message}`);
    }
    const config = parseConfig(raw, configFile);
    const session = await ort.InferenceSession.create(modelFile, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
    });
    if (
      !session.inputNames.includes(config.input_name) ||
      !session.outputNames.includes(config.output_name)
    ) {
      await session.release();
      throw new Error(
        `model.onnx has inputs [${session.inputNames.join(', ')}] and outputs [${session.outputNames.join(', ')}], ` +
          `config.json names "${config.input_name}" and "${config.output_name}"`,
      );
    }
    const { size } = await fs.stat(modelFile);
    const classifier = new MnistClassifier(session, config, modelFile, size, threads);
    // The first run allocates and plans; do it now rather than in the first request.
    await classifier.classify([new Float32Array(classifier.pixels)]);
    return classifier;
  }

  get rows(): number {
    return this.config.input_shape[1];
  }

  get cols(): number {
    return this.config.input_shape[2];
  }

  /** Pixels per image (784 for MNIST). */
  get pixels(): number {
    return this.rows * this.cols;
  }

  /** Classifies a batch of images in as few onnxruntime runs as possible; results are in input order. */
  async classify(batch: Float32Array[]): Promise<DigitPrediction[]> {
    const out: DigitPrediction[] = [];
    for (let start = 0; start < batch.length; start += MAX_RUN_BATCH) {
      out.push(...(await this.run(batch.slice(start, start + MAX_RUN_BATCH))));
    }
    return out;
  }

  /** The raw logits of a batch, [n][10]. */
  async logits(batch: Float32Array[]): Promise<Float32Array[]> {
    const n = batch.length;
    if (n === 0) return [];
    const px = this.pixels;
    const { scale, mean, std } = this.config.normalization;
    const input = new Float32Array(n * px);
    for (let b = 0; b < n; b++) {
      const img = batch[b];
      if (img.length !== px) {
        throw new Error(`image ${b} has ${img.length} pixels; the model expects ${this.rows}×${this.cols}`);
      }
      const o = b * px;
      for (let i = 0; i < px; i++) input[o + i] = (img[i] / scale - mean) / std;
    }
    const tensor = new ort.Tensor('float32', input, [n, 1, this.rows, this.cols]);
    const result = await this.session.run({ [this.config.input_name]: tensor });
    const logits = result[this.config.output_name];
    const data = logits.data as Float32Array;
    const k = this.config.labels.length;
    if (data.length !== n * k) throw new Error(`model output has ${data.length} values, expected ${n * k}`);
    const rows: Float32Array[] = [];
    for (let b = 0; b < n; b++) rows.push(data.slice(b * k, (b + 1) * k));
    return rows;
  }

  private async run(batch: Float32Array[]): Promise<DigitPrediction[]> {
    return (await this.logits(batch)).map((row) => softmaxPrediction(row, this.config.labels));
  }

  /** Facts for /models. */
  describe(): Record<string, unknown> {
    return {
      inputName: this.config.input_name,
      outputName: this.config.output_name,
      inputShape: ['batch', ...this.config.input_shape],
      inputDtype: 'float32',
      normalization: this.config.normalization,
      labels: this.config.labels,
      architecture: this.config.architecture,
      parameters: this.config.parameters,
      modelBytes: this.modelBytes,
      validationAccuracy: this.config.validation_accuracy,
      opset: this.config.opset,
      intraOpThreads: this.threads,
    };
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

function softmaxPrediction(logits: Float32Array, labels: string[]): DigitPrediction {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  const exps = Array.from(logits, (v) => Math.exp(v - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  const probabilities = exps.map((e) => e / sum);
  let best = 0;
  for (let i = 1; i < probabilities.length; i++) if (probabilities[i] > probabilities[best]) best = i;
  return { digit: Number(labels[best]), confidence: probabilities[best], probabilities };
}

/** MNIST bytes (0-255) as the Float32Array the classifier takes. */
export function toFloat(pixels: Uint8Array): Float32Array {
  return Float32Array.from(pixels);
}
