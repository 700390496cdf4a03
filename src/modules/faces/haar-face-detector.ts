import { Logger } from '@nestjs/common';
import { Piscina } from 'piscina';
import { workerFile } from '../../common/workers/worker-file';
import {
  DetectOptions,
  DetectResult,
  FaceDetector,
  MosaicOptions,
  MosaicResult,
  RawImage,
} from './face-detector';
import type { WorkerInit, WorkerResult, WorkerTask } from './face-detector.worker';
import { Slots } from './slots';

export interface HaarOptions {
  cascadePath: string;
  /** Worker threads (= detections running at once). */
  workers: number;
  /** Workers beyond the first exit after this long idle. */
  idleMs: number;
  /** A worker whose WASM heap grew beyond this is retired with its pool (OpenCV.js never shrinks it). */
  maxHeapBytes: number;
}

/**
 * OpenCV's Haar cascade (haarcascade_frontalface_alt.xml) through OpenCV.js, in a pool of worker threads
 * so detection never blocks the event loop. At most `workers` tasks are handed to the pool at a time;
 * the rest wait in order (Slots; callers bound how many may wait). When a worker reports a heap larger than
 * `maxHeapBytes`, new work goes to a fresh pool and the old one closes once its running tasks finish, which
 * gives the memory back.
 */
export class HaarFaceDetector implements FaceDetector {
  readonly name = 'haar-frontalface-alt';
  private readonly logger = new Logger(HaarFaceDetector.name);
  private pool: Piscina;
  private readonly slots: Slots<number>;
  private retiring = false;
  private closed = false;
  private recycled = 0;
  private lastHeapBytes = 0;

  private constructor(private readonly options: HaarOptions) {
    this.pool = this.createPool();
    this.slots = new Slots(Array.from({ length: options.workers }, (_, i) => i));
  }

  /** Starts the pool and runs one detection, so a broken cascade fails here, not on the first request. */
  static async start(options: HaarOptions): Promise<HaarFaceDetector> {
    const detector = new HaarFaceDetector(options);
    try {
      const blank: RawImage = { data: new Uint8Array(48 * 48 * 3), width: 48, height: 48, channels: 3 };
      await detector.detect(blank, { scaleFactor: 1.1, minNeighbors: 3, minSize: 30, maxSide: 0 });
      return detector;
    } catch (err) {
      await detector.close();
      throw err;
    }
  }

  /** Tasks running in the pool and waiting for it. */
  get pending(): number {
    return this.slots.pending;
  }

  async detect(image: RawImage, options: DetectOptions): Promise<DetectResult> {
    const r = await this.run({ kind: 'detect', ...image, detect: options });
    return { faces: r.faces, detectMs: r.detectMs };
  }

  async mosaic(image: RawImage, options: DetectOptions & MosaicOptions): Promise<MosaicResult> {
    const { method, blocks, ...detect } = options;
    const r = await this.run({ kind: 'mosaic', ...image, detect, mosaic: { method, blocks } });
    if (!r.data) throw new Error('the face worker returned no pixels');
    return {
      faces: r.faces,
      detectMs: r.detectMs,
      image: { data: r.data, width: image.width, height: image.height, channels: image.channels },
    };
  }

  describe(): Record<string, unknown> {
    return {
      cascade: this.options.cascadePath,
      engine: 'OpenCV.js 4.12 (WebAssembly) in worker threads',
      workers: this.options.workers,
      heapMb: Math.round(this.lastHeapBytes / 1024 / 1024),
      recycledPools: this.recycled,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.slots.close();
    await this.pool.destroy();
  }

  private run(task: WorkerTask): Promise<WorkerResult> {
    return this.slots.use(async () => {
      if (this.closed) throw new Error('the face detector is shut down');
      const pool = this.pool;
      const result = (await pool.run(task)) as WorkerResult;
      this.lastHeapBytes = result.heapBytes;
      if (result.heapBytes > this.options.maxHeapBytes && pool === this.pool) this.retire();
      return result;
    });
  }

  private createPool(): Piscina {
    const script = workerFile(__dirname, 'face-detector.worker');
    const init: WorkerInit = { cascadePath: this.options.cascadePath };
    const pool = new Piscina({
      filename: script.filename,
      workerData: { ...script.workerData, ...init },
      minThreads: 1,
      maxThreads: this.options.workers,
      concurrentTasksPerWorker: 1,
      idleTimeout: this.options.idleMs,
    });
    // A worker that dies outside a task must not take the process down with an unhandled 'error' event.
    pool.on('error', (err: unknown) => this.logger.error(`face worker failed: ${String(err)}`));
    return pool;
  }

  /** New tasks go to a fresh pool; the old one finishes what it runs, then its threads (and heaps) go. */
  private retire(): void {
    if (this.retiring || this.closed) return;
    this.retiring = true;
    const old = this.pool;
    this.pool = this.createPool();
    this.recycled++;
    this.logger.log(
      `face worker heap reached ${Math.round(this.lastHeapBytes / 1024 / 1024)} MB; recycling the worker pool`,
    );
    old
      .close({})
      .catch((err: unknown) => this.logger.warn(`closing the old face worker pool: ${String(err)}`))
      .finally(() => (this.retiring = false));
  }
}
