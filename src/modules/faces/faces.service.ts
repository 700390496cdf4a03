import {
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  InternalServerErrorException,
  Logger,
} from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Gauge } from 'prom-client';
import { ImageDecoder } from '../../common/image/image-decoder';
import { ImageEncoder } from '../../common/image/image-encoder';
import { IMAGE_MIME, ImageFormat } from '../../common/image/image-format';
import { MetricsService } from '../metrics/metrics.service';
import { ModelHandle } from '../models/model-registry';
import { OUTPUT_STORE, OutputStore } from '../outputs/output-store';
import {
  DetectOptions,
  DetectResult,
  FaceBox,
  FaceDetector,
  MosaicMethod,
  MosaicOptions,
  RawImage,
} from './face-detector';
import { FACE_MODEL, FaceDetectorModel } from './face-detector.model';
import { FacesConfig, facesConfig } from './faces.config';
import {
  DetectQueryDto,
  DetectResponseDto,
  MosaicJsonResponseDto,
  MosaicParamsDto,
  OutputFormat,
} from './dto/faces.dto';

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
 * Face detection and mosaic of one image: decodes with ImageDecoder (sharp, EXIF orientation, pixel cap),
 * detects and pixelates with the FaceDetector (FaceDetectorModel), encodes with ImageEncoder. Requests beyond FACES_WORKERS
 * running and FACES_MAX_QUEUE waiting get 429 at once; a missing cascade makes these routes 503.
 */
@Injectable()
export class FacesService {
  private readonly logger = new Logger(FacesService.name);
  readonly handle: ModelHandle<FaceDetector>;
  private inFlight = 0;
  private readonly inFlightGauge: Gauge;

  constructor(
    model: FaceDetectorModel,
    private readonly metrics: MetricsService,
    private readonly decoder: ImageDecoder,
    private readonly encoder: ImageEncoder,
    @Inject(facesConfig.KEY) private readonly config: FacesConfig,
    @Inject(OUTPUT_STORE) private readonly outputs: OutputStore,
  ) {
    this.handle = model.handle;
    this.inFlightGauge = new Gauge({
      name: 'faces_images_in_flight',
      help: 'Images being detected or pixelated, running or waiting for a worker.',
      registers: [metrics.registry],
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

  async detect(data: Buffer, q: DetectQueryDto = {}): Promise<DetectResponseDto> {
    const started = performance.now();
    const detector = this.handle.get();
    return this.admitted(async () => {
      const image = await this.decode(data, false);
      const { faces } = await this.infer(() => detector.detect(image.raw, this.detectOptions(q)));
      return { faces, width: image.raw.width, height: image.raw.height, latencyMs: since(started) };
    });
  }

  /** The image with every face pixelated (or blurred), encoded as `format` or as the input was. */
  async mosaic(data: Buffer, q: MosaicParamsDto = {}, format?: OutputFormat): Promise<MosaicImage> {
    const started = performance.now();
    const detector = this.handle.get();
    return this.admitted(() => this.process(detector, data, q, format, started));
  }

  /** As mosaic(), the image stored in OUTPUT_DIR and linked as /outputs/<name>. */
  async mosaicToOutput(
    data: Buffer,
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
   * One image pixelated, counted in faces_images_in_flight but not admitted (the caller bounds its own
   * concurrency: the batch and the jobs run FACES_WORKERS lanes).
   */
  async render(data: Buffer, q: MosaicParamsDto, format: OutputFormat): Promise<MosaicImage> {
    const detector = this.handle.get();
    this.track(+1);
    try {
      return await this.process(detector, data, q, format, performance.now());
    } finally {
      this.track(-1);
    }
  }

  private async process(
    detector: FaceDetector,
    data: Buffer,
    q: MosaicParamsDto,
    format: OutputFormat | undefined,
    started: number,
  ): Promise<MosaicImage> {
    const image = await this.decode(data, true);
    const result = await this.infer(() => detector.mosaic(image.raw, this.mosaicOptions(q)));
    const out = format ?? defaultOutput(image.format);
    const encoded = await this.encoder.encode(result.image, out);
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
  private async decode(data: Buffer, keepAlpha: boolean): Promise<{ raw: RawImage; format: ImageFormat }> {
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

  /** 429 when FACES_WORKERS are running and FACES_MAX_QUEUE waiting (the routes check it before reading a body). */
  assertCapacity(): void {
    if (this.inFlight >= this.config.FACES_WORKERS + this.config.FACES_MAX_QUEUE) {
      throw new HttpException(
        `The face detector is busy (${this.inFlight} images in progress); try again in a few seconds.`,
        HttpStatus.TOO_MANY_REQUESTS,
      );
    }
  }

  /** Admission: 429 beyond FACES_WORKERS running and FACES_MAX_QUEUE waiting. */
  private async admitted<T>(work: () => Promise<T>): Promise<T> {
    this.assertCapacity();
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
