import { BadRequestException, Inject, Injectable } from '@nestjs/common';
import * as path from 'node:path';
import { MnistConfig, mnistConfig } from './mnist.config';
import { ModelHandle, ModelMissingError, ModelRegistry } from '../models/model-registry';
import { findMnistFile, loadMnistPair, mnistFileNames, MnistSet } from './idx';

export const DATASET_MODEL = 'mnist-dataset';

/**
 * The MNIST training set (60,000 digits) from MNIST_DIR, read once and kept in memory (about 47 MB).
 * It is registered as an optional "model", so /models shows it and its routes answer 503, saying how to
 * get the files, when they are missing.
 */
@Injectable()
export class MnistDatasetService {
  readonly dir: string;
  private readonly handle: ModelHandle<MnistSet>;

  constructor(@Inject(mnistConfig.KEY) config: MnistConfig, registry: ModelRegistry) {
    this.dir = path.resolve(config.MNIST_DIR);
    const shown = config.MNIST_DIR;
    this.handle = registry.register<MnistSet>({
      name: DATASET_MODEL,
      task: 'dataset',
      location: this.dir,
      required: false,
      hint:
        `run \`npm run data:mnist\` to download the MNIST files into MNIST_DIR (${shown}), or set MNIST_DIR ` +
        `to a folder holding ${mnistFileNames('train', 'images')[0]}[.gz] and ${mnistFileNames('train', 'labels')[0]}[.gz].`,
      load: () => this.load(),
      describe: (set) => ({
        split: 'train',
        images: set.count,
        imageShape: [set.rows, set.cols],
        labelCounts: set.labelCounts(),
        memoryBytes: set.images.byteLength + set.labels.byteLength,
        files: [set.files.images, set.files.labels].map((f) => path.relative(process.cwd(), f) || f),
      }),
    });
  }

  private async load(): Promise<MnistSet> {
    const images = findMnistFile(this.dir, 'train', 'images');
    const labels = findMnistFile(this.dir, 'train', 'labels');
    if (!images || !labels) {
      const missing = [!images && 'train-images-idx3-ubyte[.gz]', !labels && 'train-labels-idx1-ubyte[.gz]'];
      throw new ModelMissingError(`${missing.filter(Boolean).join(' and ')} not found in ${this.dir}`);
    }
    return loadMnistPair(images, labels);
  }

  /** The dataset; a request that arrives while it is still being read waits for it (a second or so). */
  async get(): Promise<MnistSet> {
    if (this.handle.status === 'loading') await this.handle.load();
    return this.handle.get();
  }

  /** The dataset and a checked index: 400 with the valid range otherwise. */
  async at(index: number): Promise<{ set: MnistSet; index: number; label: number; pixels: Uint8Array }> {
    const set = await this.get();
    if (!Number.isInteger(index) || index < 0 || index >= set.count) {
      throw new BadRequestException(
        `index must be a whole number from 0 to ${set.count - 1} (the training set has ${set.count} images).`,
      );
    }
    return { set, index, label: set.label(index), pixels: set.image(index) };
  }
}
