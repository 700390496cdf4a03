import {
  BadRequestException,
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  InternalServerErrorException,
  Logger,
  UnprocessableEntityException,
} from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { Gauge } from 'prom-client';
import sharp from 'sharp';
import { ImageDecoder } from '../../common/image/image-decoder';
import { IMAGE_MIME, ImageFormat } from '../../common/image/image-format';
import { AppConfig, appConfig } from '../../config/app.config';
import { MetricsService } from '../metrics/metrics.service';
import { ModelHandle, ModelMissingError, ModelRegistry } from '../models/model-registry';
import { OUTPUT_STORE, OutputStore } from '../outputs/output-store';
import { UploadsService } from '../uploads/uploads.service';
import { CASCADE_NAME, cascadeCandidates, findCascade } from './cascade-file';
import {
  DetectOptions,
  DetectResult,
  FaceBox,
  FaceDetector,
  MosaicMethod,
  MosaicOptions,
  RawImage,
} from './face-detector';
import { FacesConfig, facesConfig } from './faces.config';
import {
  DetectQueryDto,
  DetectResponseDto,
  MosaicBatchResponseDto,
  MosaicFileResultDto,
  MosaicJsonResponseDto,
  MosaicParamsDto,
  OutputFormat,
} from './faces.dto';
import { HaarFaceDetector } from './haar-face-detector';
import { loadNativeAddon, NativeHaarFaceDetector } from './native-haar-face-detector';

export const FACE_MODEL = 'haar-frontalface-alt';

export const CASCADE_HINT =
  'install Debian\'s opencv-data package (apt-get install opencv-data), run "npm run models:pull", ' +
  `or set HAAR_CASCADE_PATH to a copy of ${CASCADE_NAME}.`;

export interface MosaicImage {
  data: Buffer;
  format: OutputFormat;
  contentType: string;
  faces: FaceBox[];
  width: number;
  height: number;
  latencyMs: number;
}

/**
 * Face detection and mosaic: decodes with ImageDecoder (sharp, EXIF orientation, pixel cap), detects and
 * pixelates in the FaceDetector's worker threads, encodes with sharp. Requests beyond FACES_WORKERS
 * running and FACES_MAX_QUEUE waiting get 429 at once; a missing cascade makes these routes 503.
 */
@Injectable()
export class FacesService {
  private readonly logger = new Logger(FacesService.name);
  readonly handle: ModelHandle<FaceDetector>;
  private cascadePath: string | null;
  private inFlight = 0;
  private batchRunning = false;
  private readonly inFlightGauge: Gauge;

  constructor(
    registry: ModelRegistry,
    private readonly metrics: MetricsService,
    private readonly decoder: ImageDecoder,
    private readonly uploads: UploadsService,
    @Inject(appConfig.KEY) private readonly app: AppConfig,
    @Inject(facesConfig.KEY) private readonly config: FacesConfig,
    @Inject(OUTPUT_STORE) private readonly outputs: OutputStore,
  ) {
    this.cascadePath = findCascade(this.search());
    this.inFlightGauge = new Gauge({
      name: 'faces_images_in_flight',
      help: 'Images being detected or pixelated, running or waiting for a worker.',
      registers: [metrics.registry],
    });
    const cascade = () => this.cascadePath ?? undefined;
    this.handle = registry.register<FaceDetector>({
      name: FACE_MODEL,
      task: 'face-detection',
      get location() {
        return cascade();
      },
      required: false,
      hint: CASCADE_HINT,
      load: () => this.load(),
      describe: (d) => ({
        ...d.describe(),
        detectMaxSide: this.config.FACES_DETECT_MAX_SIDE,
        maxQueue: this.config.FACES_MAX_QUEUE,
      }),
      dispose: (d) => d.close(),
    });
  }

  /** Default detector options, overridden by what the client sent. */
  detectOptions(q: DetectQueryDto = {}): DetectOptions {
    return {
      scaleFactor: q.scaleFactor ?? 1.1,
      minNeighbors: q.minNeighbors ?? 3,
      minSize: q.minSize ?? 30,
      maxSide: this.config.FACES_DETECT_MAX_SIDE,
    };
  }

  mosaicOptions(q: MosaicParamsDto = {}): DetectOptions & MosaicOptions {
    return {
      ...this.detectOptions(q),
      method: (q.method ?? 'pixelate') as MosaicMethod,
      blocks: q.blocks ?? 16,
    };
  }

  async detect(data: Buffer | undefined, q: DetectQueryDto = {}): Promise<DetectResponseDto> {
    const started = performance.now();
    const detector = this.handle.get();
    return this.admitted(async () => {
      const image = await this.decode(data, false);
      const { faces } = await this.infer(() => detector.detect(image.raw, this.detectOptions(q)));
      return { faces, width: image.raw.width, height: image.raw.height, latencyMs: since(started) };
    });
  }

  /** The image with every face pixelated (or blurred), encoded as `format` or as the input was. */
  async mosaic(
    data: Buffer | undefined,
    q: MosaicParamsDto = {},
    format?: OutputFormat,
  ): Promise<MosaicImage> {
    const started = performance.now();
    const detector = this.handle.get();
    return this.admitted(() => this.process(detector, data, q, format, started));
  }

  /** As mosaic(), the image stored in OUTPUT_DIR and linked as /outputs/<name>. */
  async mosaicToOutput(
    data: Buffer | undefined,
    q: MosaicParamsDto = {},
    format?: OutputFormat,
  ): Promise<MosaicJsonResponseDto> {
    const result = await this.mosaic(data, q, format);
    const name = `mosaic-${randomUUID()}.${extension(result.format)}`;
    await this.outputs.write(name, result.data);
    return {
      faces: result.faces,
      imageUrl: `/outputs/${name}`,
      width: result.width,
      height: result.height,
      latencyMs: result.latencyMs,
    };
  }

  /**
   * The original `GET /mosaic`: every upload pixelated into OUTPUT_DIR as `<id>-face.png`, at most
   * FACES_WORKERS at a time (others' requests keep being served), uploads without a face in failed_files.
   */
  async mosaicAll(q: MosaicParamsDto = {}): Promise<MosaicBatchResponseDto> {
    const detector = this.handle.get();
    const uploads = await this.uploads.all();
    const cap = this.config.MOSAIC_SYNC_MAX_FILES;
    if (uploads.length > cap) {
      throw new UnprocessableEntityException(
        `There are ${uploads.length} uploaded images, more than the ${cap} this route processes in one request; start a background job with POST /jobs/mosaic instead.`,
      );
    }
    if (this.batchRunning) {
      throw new HttpException(
        'A mosaic of every upload is already running; try again when it has finished.',
        HttpStatus.TOO_MANY_REQUESTS,
      );
    }
    this.batchRunning = true;
    try {
      const results: MosaicFileResultDto[] = new Array(uploads.length);
      let next = 0;
      const lane = async () => {
        while (next < uploads.length) {
          const i = next++;
          results[i] = await this.mosaicUpload(detector, uploads[i].id, uploads[i].originalName, q);
        }
      };
      await Promise.all(Array.from({ length: Math.min(this.config.FACES_WORKERS, uploads.length) }, lane));
      const processed = results.filter((r) => r.status === 'processed');
      const noFaces = results.filter((r) => r.status === 'no_faces').length;
      const failed = results.length - processed.length - noFaces;
      const notes = [
        noFaces > 0 ? `${noFaces} had no face` : '',
        failed > 0 ? `${failed} could not be read` : '',
      ]
        .filter(Boolean)
        .join(', ');
      return {
        message:
          results.length === 0
            ? 'There are no uploaded images to process.'
            : `Processed ${processed.length} of ${results.length} images${notes ? `; ${notes}` : ''}.`,
        processed_files: processed.map((r) => r.filename),
        failed_files: results.filter((r) => r.status !== 'processed').map((r) => r.filename),
        results,
      };
    } finally {
      this.batchRunning = false;
    }
  }

  /**
   * One upload pixelated into OUTPUT_DIR as `<id>-face.png`, as one file of `GET /mosaic` (the jobs module
   * runs batches with it): no face → `no_faces`, a deleted or unreadable upload → `failed`; it throws only
   * when the cascade is not loaded (503).
   */
  mosaicUploadFile(id: string, filename: string, q: MosaicParamsDto = {}): Promise<MosaicFileResultDto> {
    return this.mosaicUpload(this.handle.get(), id, filename, q);
  }

  private async mosaicUpload(
    detector: FaceDetector,
    id: string,
    filename: string,
    q: MosaicParamsDto,
  ): Promise<MosaicFileResultDto> {
    try {
      const bytes = await this.uploads.read(id);
      if (!bytes)
        return { id, filename, status: 'failed', faces: 0, error: 'The upload was deleted meanwhile.' };
      this.track(+1);
      let result: MosaicImage;
      try {
        result = await this.process(detector, bytes, q, 'png', performance.now());
      } finally {
        this.track(-1);
      }
      if (result.faces.length === 0) return { id, filename, status: 'no_faces', faces: 0 };
      const name = `${id}-face.png`;
      await this.outputs.write(name, result.data);
      return { id, filename, status: 'processed', faces: result.faces.length, output: `/outputs/${name}` };
    } catch (err) {
      if (err instanceof HttpException && err.getStatus() < 500) {
        return { id, filename, status: 'failed', faces: 0, error: err.message };
      }
      this.logger.error(`mosaic of upload ${id} failed: ${String(err)}`);
      return { id, filename, status: 'failed', faces: 0, error: 'The image could not be processed.' };
    }
  }

  private async process(
    detector: FaceDetector,
    data: Buffer | undefined,
    q: MosaicParamsDto,
    format: OutputFormat | undefined,
    started: number,
  ): Promise<MosaicImage> {
    const image = await this.decode(data, true);
    const result = await this.infer(() => detector.mosaic(image.raw, this.mosaicOptions(q)));
    const out = format ?? defaultOutput(image.format);
    const encoded = await encode(result.image, out);
    return {
      data: encoded,
      format: out,
      contentType: IMAGE_MIME[out],
      faces: result.faces,
      width: image.raw.width,
      height: image.raw.height,
      latencyMs: since(started),
    };
  }

  /** Upright 8-bit sRGB pixels; alpha kept when wanted (mosaic) and present. */
  private async decode(
    data: Buffer | undefined,
    keepAlpha: boolean,
  ): Promise<{ raw: RawImage; format: ImageFormat }> {
    if (!data) throw new BadRequestException('Send the image in the multipart form field "file".');
    const { info, image } = await this.decoder.decode(data);
    let pipeline = image.toColourspace('srgb');
    if (!keepAlpha) pipeline = pipeline.removeAlpha();
    const raw = await this.decoder.toRaw(pipeline, info.format);
    const channels = raw.info.channels;
    if (channels !== 3 && channels !== 4)
      throw new InternalServerErrorException('Unexpected decoded channels.');
    return {
      raw: { data: raw.data, width: raw.info.width, height: raw.info.height, channels },
      format: info.format,
    };
  }

  /** Admission: 429 beyond FACES_WORKERS running and FACES_MAX_QUEUE waiting. */
  private async admitted<T>(work: () => Promise<T>): Promise<T> {
    const capacity = this.config.FACES_WORKERS + this.config.FACES_MAX_QUEUE;
    if (this.inFlight >= capacity) {
      throw new HttpException(
        `The face detector is busy (${this.inFlight} images in progress); try again in a few seconds.`,
        HttpStatus.TOO_MANY_REQUESTS,
      );
    }
    this.track(+1);
    try {
      return await work();
    } finally {
      this.track(-1);
    }
  }

  private track(delta: number): void {
    this.inFlight += delta;
    this.inFlightGauge.set(this.inFlight);
  }

  /** Runs detector work; its detection time (not the wait for a worker) goes to inference_duration_seconds. */
  private async infer<T extends DetectResult>(work: () => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await work();
    } catch (err) {
      if (err instanceof HttpException) throw err;
      this.logger.error(`face detection failed: ${String(err)}`);
      throw new InternalServerErrorException('Face detection failed.');
    }
    this.metrics.inferenceDuration.observe({ model: FACE_MODEL }, result.detectMs / 1000);
    return result;
  }

  private search() {
    return {
      explicit: this.config.HAAR_CASCADE_PATH,
      modelsDir: this.app.MODELS_DIR,
      searchSystem: this.config.FACES_CASCADE_SEARCH_SYSTEM,
    };
  }

  private async load(): Promise<FaceDetector> {
    const search = this.search();
    this.cascadePath = findCascade(search);
    if (!this.cascadePath) {
      throw new ModelMissingError(
        `${CASCADE_NAME} not found (looked in ${cascadeCandidates(search).join(', ')})`,
      );
    }
    if (search.explicit && path.resolve(search.explicit) !== this.cascadePath) {
      this.logger.warn(`HAAR_CASCADE_PATH ${search.explicit} does not exist; using ${this.cascadePath}`);
    }
    const engine = this.config.FACES_ENGINE;
    if (engine !== 'wasm') {
      const addon = loadNativeAddon();
      if (!(addon instanceof Error))
        return NativeHaarFaceDetector.start(addon, {
          cascadePath: this.cascadePath,
          workers: this.config.FACES_WORKERS,
        });
      if (engine === 'native') throw addon;
      this.logger.log(`${addon.message}; using OpenCV.js (FACES_ENGINE=auto)`);
    }
    return HaarFaceDetector.start({
      cascadePath: this.cascadePath,
      workers: this.config.FACES_WORKERS,
      idleMs: this.config.FACES_WORKER_IDLE_MS,
      maxHeapBytes: this.config.FACES_WORKER_MAX_HEAP_MB * 1024 * 1024,
    });
  }
}

function since(started: number): number {
  return Math.round(performance.now() - started);
}

function defaultOutput(format: ImageFormat): OutputFormat {
  return format === 'jpeg' || format === 'webp' ? format : 'png';
}

function extension(format: OutputFormat): string {
  return format === 'jpeg' ? 'jpg' : format;
}

/** Encodes pixels; metadata (EXIF orientation, GPS) is not carried over: the pixels are already upright. */
export function encode(image: RawImage, format: OutputFormat): Promise<Buffer> {
  const s = sharp(image.data, {
    raw: { width: image.width, height: image.height, channels: image.channels },
  });
  switch (format) {
    case 'jpeg':
      return s.jpeg({ quality: 90 }).toBuffer();
    case 'webp':
      return s.webp({ quality: 90 }).toBuffer();
    default:
      // Filtered, light deflate: about the size and speed of OpenCV's imwrite defaults.
      return s.png({ compressionLevel: 3, adaptiveFiltering: true }).toBuffer();
  }
}
