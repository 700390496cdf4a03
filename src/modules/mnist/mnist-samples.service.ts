import { Inject, Injectable } from '@nestjs/common';
import sharp from 'sharp';
import { randomInt } from 'node:crypto';
import { MnistDatasetService } from './mnist-dataset.service';
import { MnistSampleResponseDto, RandomSampleDto } from './dto/mnist.dto';
import { addGaussianNoise, mulberry32, randomSeed } from './noise';
import { displayPath } from '../outputs/output-names';
import { OUTPUT_STORE, OutputStore } from '../outputs/output-store';
import { sampleFileName } from './output-files';

export interface SampleImageOptions {
  noise?: boolean;
  seed?: number;
  /** Nearest-neighbour enlargement, 1-20. */
  scale?: number;
}

export interface SampleImage {
  index: number;
  label: number;
  png: Buffer;
  /** Seed of the noise, when noise was added. */
  seed?: number;
}

/** Images of the MNIST training set as PNG files (written to OUTPUT_DIR) or PNG bytes. */
@Injectable()
export class MnistSamplesService {
  constructor(
    @Inject(OUTPUT_STORE) private readonly outputs: OutputStore,
    private readonly dataset: MnistDatasetService,
  ) {}

  /** A sample as a PNG: white digit on black as in MNIST, optionally noisy and enlarged. */
  async image(index: number, options: SampleImageOptions = {}): Promise<SampleImage> {
    const { set, label, pixels } = await this.dataset.at(index);
    const seed = options.noise ? (options.seed ?? randomSeed()) : undefined;
    const data = seed === undefined ? pixels : addGaussianNoise(pixels, seed);
    const scale = options.scale ?? 1;
    let img = sharp(Buffer.from(data.buffer, data.byteOffset, data.byteLength), {
      raw: { width: set.cols, height: set.rows, channels: 1 },
    });
    if (scale > 1) img = img.resize(set.cols * scale, set.rows * scale, { kernel: 'nearest' });
    const png = await img.toColourspace('b-w').png({ compressionLevel: 6 }).toBuffer();
    return { index, label, png, seed };
  }

  /**
   * Writes a sample to OUTPUT_DIR as the original FastAPI service did, `<base>_label<digit>[_noise].png`,
   * with the name made safe (see sampleFileName).
   */
  async write(
    index: number,
    filename: string,
    noise: boolean,
    seed?: number,
  ): Promise<MnistSampleResponseDto> {
    const sample = await this.image(index, { noise, seed });
    const name = sampleFileName(filename, sample.label, noise);
    const file = await this.outputs.write(name, sample.png);
    return {
      label: sample.label,
      image_path: displayPath(file),
      image_url: `/outputs/${name}`,
      has_noise: noise,
      ...(noise ? { seed: sample.seed } : {}),
    };
  }

  /** `count` distinct samples, chosen at random (reproducibly with a seed). */
  async random(count: number, seed?: number): Promise<RandomSampleDto[]> {
    const set = await this.dataset.get();
    const n = Math.min(count, set.count);
    const random = seed === undefined ? () => randomInt(0, 2 ** 32) / 2 ** 32 : mulberry32(seed);
    // Partial Fisher-Yates over the virtual array 0..count-1.
    const swapped = new Map<number, number>();
    const out: RandomSampleDto[] = [];
    for (let i = 0; i < n; i++) {
      const j = i + Math.floor(random() * (set.count - i));
      const pick = swapped.get(j) ?? j;
      swapped.set(j, swapped.get(i) ?? i);
      out.push({ index: pick, label: set.label(pick), imageUrl: `/mnist/samples/${pick}` });
    }
    return out;
  }
}
