import { HttpException, Inject, Injectable } from '@nestjs/common';
import * as path from 'node:path';
import { AppConfig, appConfig } from '../../config/app.config';
import { ModelHandle, ModelRegistry } from '../models/model-registry';
import { DigitPreprocessor } from './digit-preprocessor';
import { MnistClassifier } from './mnist-classifier';
import { MnistConfig, mnistConfig } from './mnist.config';
import { PredictionDto } from './dto/mnist.dto';

export const CLASSIFIER_MODEL = 'mnist-cnn';
/** Images decoded at the same time within one request (bounds memory for big batches). */
const DECODE_CONCURRENCY = 4;

export interface PredictInput {
  data: Buffer;
  /** How the client named it, for error messages. */
  name?: string;
}

/** Digit recognition for uploads: decode → MNIST-style preparation → one batched ONNX run. */
@Injectable()
export class MnistInferenceService {
  readonly modelDir: string;
  readonly handle: ModelHandle<MnistClassifier>;

  constructor(
    @Inject(appConfig.KEY) app: AppConfig,
    @Inject(mnistConfig.KEY) config: MnistConfig,
    private readonly registry: ModelRegistry,
    private readonly preprocessor: DigitPreprocessor,
  ) {
    this.modelDir = path.resolve(app.MODELS_DIR, config.MNIST_MODEL);
    this.handle = registry.register<MnistClassifier>({
      name: CLASSIFIER_MODEL,
      task: 'image-classification',
      location: this.modelDir,
      required: true,
      hint:
        `train it with \`/usr/bin/python3 training/mnist/train_cnn.py\` (writes models/mnist-cnn/model.onnx and ` +
        `config.json), or set MNIST_MODEL to a folder under MODELS_DIR that has them.`,
      load: () => MnistClassifier.load(this.modelDir, config.MNIST_THREADS),
      describe: (m) => m.describe(),
      dispose: (m) => m.release(),
    });
  }

  /** The loaded classifier (503 while it is loading or missing). */
  classifier(): MnistClassifier {
    return this.handle.get();
  }

  /** Recognises the digit in each image; results are in input order. Any bad image fails the request. */
  async predict(inputs: PredictInput[]): Promise<PredictionDto[]> {
    const classifier = this.handle.get();
    const prepared = new Array<{ pixels: Float32Array; ms: number }>(inputs.length);
    const errors = new Map<number, unknown>();
    let next = 0;
    const worker = async () => {
      while (next < inputs.length) {
        const i = next++;
        const started = performance.now();
        try {
          const { pixels } = await this.preprocessor.prepare(inputs[i].data);
          prepared[i] = { pixels, ms: performance.now() - started };
        } catch (err) {
          errors.set(i, err);
          next = inputs.length; // the request fails: no point preparing the rest
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(DECODE_CONCURRENCY, inputs.length) }, worker));
    if (errors.size > 0) {
      const first = Math.min(...errors.keys());
      const err = errors.get(first);
      throw inputs.length > 1 ? this.about(err, first, inputs) : err;
    }

    const started = performance.now();
    const predictions = await this.registry.timeInference(CLASSIFIER_MODEL, () =>
      classifier.classify(prepared.map((p) => p.pixels)),
    );
    const inferenceMs = performance.now() - started;
    return predictions.map((p, i) => ({
      ...p,
      latencyMs: Math.round((prepared[i].ms + inferenceMs) * 100) / 100,
    }));
  }

  /** The same error, its message naming which image of a batch it is about. */
  private about(err: unknown, i: number, inputs: PredictInput[]): unknown {
    if (!(err instanceof HttpException)) return err;
    // eslint-disable-next-line no-control-regex
    const clean = (inputs[i].name ?? '').replace(/[\u0000-\u001f\u007f]/g, '').slice(0, 80);
    const name = clean ? ` (${clean})` : '';
    return new HttpException(`Image ${i + 1} of ${inputs.length}${name}: ${err.message}`, err.getStatus());
  }
}
