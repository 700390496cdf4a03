import { ConfigType } from '@nestjs/config';
import { IsInt, IsString, Matches, Max, Min } from 'class-validator';
import { defineConfig, Expose } from '../../config/env';

export class MnistEnv {
  /** The MNIST training files (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz]). */
  @Expose() @IsString() MNIST_DIR: string = 'data/mnist';
  /** Folder under MODELS_DIR holding model.onnx and config.json of the digit classifier. */
  @Expose()
  @IsString()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { message: 'MNIST_MODEL must be a folder name under MODELS_DIR' })
  MNIST_MODEL: string = 'mnist-cnn';
  /** Most images accepted by one `POST /mnist/predict` (field `files`) and classified in one batch. */
  @Expose() @IsInt() @Min(1) @Max(256) MNIST_MAX_FILES: number = 32;
  /** Threads onnxruntime uses inside one inference (the model is tiny: 1 keeps latency low under load). */
  @Expose() @IsInt() @Min(1) @Max(64) MNIST_THREADS: number = 1;
}

export const mnistConfig = defineConfig('mnist', MnistEnv);
export type MnistConfig = ConfigType<typeof mnistConfig>;
