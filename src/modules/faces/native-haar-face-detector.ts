import { Logger } from '@nestjs/common';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import {
  DetectOptions,
  DetectResult,
  FaceBox,
  FaceDetector,
  MosaicOptions,
  MosaicResult,
  RawImage,
} from './face-detector';
import { Slots } from './slots';

/** The addon built by scripts/install-native.js from native/cascade_detector.cc here (same path from src/ and dist/). */
export const NATIVE_ADDON = path.resolve(
  __dirname,
  '..',
  '..',
  '..',
  'build',
  'native',
  'cascade_detector.node',
);

interface NativeCascade {
  run(
    pixels: Uint8Array,
    width: number,
    height: number,
    channels: number,
    options: DetectOptions & Partial<MosaicOptions>,
  ): Promise<{ faces: FaceBox[]; detectMs: number }>;
}

interface NativeAddon {
  CascadeDetector: new (cascadePath: string) => NativeCascade;
  opencvVersion: string;
  threads(): number;
}

/** The native addon, or why it cannot be used. */
export function loadNativeAddon(): NativeAddon | Error {
  if (!existsSync(NATIVE_ADDON))
    return new Error(
      'the native OpenCV detector is not built (install libopencv-objdetect-dev, then run `node scripts/install-native.js`)',
    );
  try {
    return require(NATIVE_ADDON) as NativeAddon;
  } catch (err) {
    return new Error(`the native OpenCV detector does not load: ${(err as Error).message}`);
  }
}

export interface NativeHaarOptions {
  cascadePath: string;
  /** Detections running at once; each has its own classifier (they keep per-image state). */
  workers: number;
}

/**
 * OpenCV's Haar cascade through the system's native OpenCV (a small N-API addon). Detection runs in
 * libuv's thread pool, so it never blocks the event loop, and OpenCV parallelises each detection over
 * the cores, as the original Python service did. Same steps and boxes as the OpenCV.js detector.
 */
export class NativeHaarFaceDetector implements FaceDetector {
  readonly name = 'haar-frontalface-alt';
  private readonly slots: Slots<NativeCascade>;

  private constructor(
    private readonly addon: NativeAddon,
    private readonly options: NativeHaarOptions,
  ) {
    const cascades = Array.from(
      { length: options.workers },
      () => new addon.CascadeDetector(options.cascadePath),
    );
    this.slots = new Slots(cascades);
  }

  /** Loads the cascade in every slot and runs one detection, so a broken cascade fails here. */
  static async start(addon: NativeAddon, options: NativeHaarOptions): Promise<NativeHaarFaceDetector> {
    // Detections share libuv's pool with file and DNS work: leave it at least two threads.
    const pool = Number(process.env.UV_THREADPOOL_SIZE) || 4;
    if (options.workers > pool - 2)
      new Logger(NativeHaarFaceDetector.name).warn(
        `FACES_WORKERS=${options.workers} with libuv's ${pool} threads: set UV_THREADPOOL_SIZE=${options.workers + 2} ` +
          'so detections do not hold up file access',
      );
    const detector = new NativeHaarFaceDetector(addon, options);
    const blank: RawImage = { data: new Uint8Array(48 * 48 * 3), width: 48, height: 48, channels: 3 };
    await detector.detect(blank, { scaleFactor: 1.1, minNeighbors: 3, minSize: 30, maxSide: 0 });
    return detector;
  }

  get pending(): number {
    return this.slots.pending;
  }

  detect(image: RawImage, options: DetectOptions): Promise<DetectResult> {
    const { scaleFactor, minNeighbors, minSize, maxSide } = options;
    return this.slots.use((cascade) =>
      cascade.run(image.data, image.width, image.height, image.channels, {
        scaleFactor,
        minNeighbors,
        minSize,
        maxSide,
      }),
    );
  }

  async mosaic(image: RawImage, options: DetectOptions & MosaicOptions): Promise<MosaicResult> {
    // The addon pixelates the caller's buffer in place.
    const r = await this.slots.use((cascade) =>
      cascade.run(image.data, image.width, image.height, image.channels, options),
    );
    return { faces: r.faces, detectMs: r.detectMs, image };
  }

  describe(): Record<string, unknown> {
    return {
      cascade: this.options.cascadePath,
      engine: `OpenCV ${this.addon.opencvVersion} (native, ${this.addon.threads()} threads per detection)`,
      workers: this.options.workers,
    };
  }

  close(): Promise<void> {
    this.slots.close();
    return Promise.resolve();
  }
}
