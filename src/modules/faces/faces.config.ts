import { ConfigType } from '@nestjs/config';
import { availableParallelism } from 'node:os';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Max, Min, ValidateIf } from 'class-validator';
import { defineConfig, EnvBoolean, Expose } from '../../config/env';

/**
 * Variables of the faces module.
 */
export class FacesEnv {
  /** The Haar cascade file; unset: MODELS_DIR/haarcascade/, then the system's OpenCV data. */
  @Expose() @IsOptional() @IsString() HAAR_CASCADE_PATH?: string;
  /**
   * Which OpenCV runs the Haar cascade: `native` (the system's OpenCV through our addon: multi-threaded,
   * built at install when libopencv-objdetect-dev is present), `wasm` (OpenCV.js in worker threads: no
   * system library, slower), or `auto` (native when built, else wasm). Both give the same boxes.
   */
  @Expose() @IsIn(['auto', 'native', 'wasm']) FACES_ENGINE: 'auto' | 'native' | 'wasm' = 'auto';
  /**
   * Detections running at once (wasm: worker threads of about 130 MB each; native: classifiers). Default: one
   * less than the CPUs (1 to 4), so that a flood of mosaics leaves a core to everyone else (chat stays fast);
   * a native detection already spreads over every core (OpenCV's own threads).
   */
  @Expose() @IsInt() @Min(1) @Max(16) FACES_WORKERS: number = Math.min(
    4,
    Math.max(1, availableParallelism() - 1),
  );
  /** Images allowed to wait for a worker; beyond it face and mosaic requests get 429. */
  @Expose() @IsInt() @Min(0) @Max(1000) FACES_MAX_QUEUE: number = 8;
  /**
   * Detect on a copy downscaled to this longest side (boxes mapped back to the full image); 0 = full
   * resolution, as the original. 1024 keeps every face of the reference photos (see BENCHMARKS.md).
   */
  @Expose()
  @IsInt()
  @ValidateIf((o: FacesEnv) => o.FACES_DETECT_MAX_SIDE !== 0)
  @Min(64)
  @Max(16384)
  FACES_DETECT_MAX_SIDE: number = 1024;
  /** wasm: extra workers (beyond the first) exit after this long without work, releasing their memory. */
  @Expose() @IsInt() @Min(1000) FACES_WORKER_IDLE_MS: number = 30_000;
  /**
   * wasm: OpenCV.js's heap only grows; once a worker's heap exceeds this (a full-resolution detection on a large
   * photo), its pool is replaced after the running work and the memory is returned.
   */
  @Expose() @IsInt() @Min(64) @Max(4096) FACES_WORKER_MAX_HEAP_MB: number = 256;
  /** Also look for the cascade in the system's OpenCV data folders (/usr/share/opencv4/haarcascades...). */
  @Expose() @EnvBoolean() @IsBoolean() FACES_CASCADE_SEARCH_SYSTEM: boolean = true;
  /** `GET /mosaic` processes at most this many uploads in one request; beyond it, it answers 422. */
  @Expose() @IsInt() @Min(1) @Max(100_000) MOSAIC_SYNC_MAX_FILES: number = 50;
}

export const facesConfig = defineConfig('faces', FacesEnv);
export type FacesConfig = ConfigType<typeof facesConfig>;
