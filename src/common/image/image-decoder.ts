import {
  BadRequestException,
  Inject,
  Injectable,
  PayloadTooLargeException,
  UnprocessableEntityException,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import * as bmp from 'bmp-js';
import sharp, { Metadata, OutputInfo, Sharp, SharpOptions } from 'sharp';
import { AppConfig, appConfig } from '../../config/app.config';
import { ACCEPTED_IMAGES, ImageFormat, sniffImageFormat } from './image-format';
import { decodeGreyPng, GreyPixels } from './grey-png';
import { ImageHeader, readHeader } from './image-header';
import { checkStructure } from './image-structure';

export interface ImageInfo {
  format: ImageFormat;
  /** Size as a person sees it, EXIF orientation applied. */
  width: number;
  height: number;
}

export interface DecodedImage {
  info: ImageInfo;
  /** A sharp pipeline over the first frame, upright (EXIF applied), ready for further operations. */
  image: Sharp;
}

/**
 * The one place where untrusted image bytes are opened. It decides the format by magic bytes, reads only
 * the header (readHeader for JPEG and PNG, libvips for the rest) to refuse decompression bombs (an explicit
 * pixel cap, never libvips' default or none), applies EXIF orientation as OpenCV's imread does, and turns
 * every libvips failure into one sentence.
 */
@Injectable()
export class ImageDecoder {
  constructor(@Inject(appConfig.KEY) private readonly config: AppConfig) {}

  get maxPixels(): number {
    return this.config.IMAGE_MAX_PIXELS;
  }

  async decode(data: Buffer): Promise<DecodedImage> {
    const format = this.formatOf(data);
    if (format === 'bmp') return this.decodeBmp(data);
    const info = await this.headerOf(data, format);
    const image = sharp(data, this.inputOptions({ ignoreIcc: true })).rotate();
    return { info, image };
  }

  /**
   * 8-bit greyscale of the first frame, upright, transparency composited on white, shrunk to fit in
   * `maxSide` × `maxSide` (never enlarged); `info` is the image before shrinking. A plain 8-bit grey PNG that
   * already fits (an MNIST digit) is decoded in JavaScript (decodeGreyPng), with the same values libvips gives.
   */
  async grey(data: Buffer, maxSide: number): Promise<{ pixels: GreyPixels; info: ImageInfo }> {
    const fast = sniffImageFormat(data) === 'png' ? decodeGreyPng(data, maxSide) : undefined;
    if (fast === 'corrupt') throw this.explain(new Error(fast), 'png');
    if (fast) {
      this.checkPixels(fast.width, fast.height);
      return { pixels: fast, info: { format: 'png', width: fast.width, height: fast.height } };
    }
    const { info, image } = await this.decode(data);
    const pipeline = image
      .flatten({ background: '#ffffff' })
      .resize({ width: maxSide, height: maxSide, fit: 'inside', withoutEnlargement: true })
      // b-w also brings 16-bit and CMYK images to 8-bit sRGB-based grey (plain raw() would not).
      .toColourspace('b-w');
    const raw = await this.toRaw(pipeline, info.format);
    const { width, height, channels } = raw.info;
    let grey: Uint8Array = raw.data;
    if (channels !== 1) {
      grey = new Uint8Array(width * height);
      for (let i = 0; i < grey.length; i++) grey[i] = raw.data[i * channels];
    }
    return { pixels: { data: grey, width, height }, info };
  }

  /**
   * What decode() checks, without the pipeline: the format by magic bytes, the upright size from the header,
   * the pixel cap (for a store that keeps the bytes as they are).
   */
  async header(data: Buffer): Promise<ImageInfo> {
    const format = this.formatOf(data);
    return format === 'bmp' ? this.decodeBmp(data).info : this.headerOf(data, format);
  }

  private formatOf(data: Buffer): ImageFormat {
    if (!data || data.length === 0) throw new BadRequestException('The file is empty.');
    const format = sniffImageFormat(data);
    if (!format) {
      throw new UnsupportedMediaTypeException(
        `The file is not a supported image (${ACCEPTED_IMAGES} expected).`,
      );
    }
    return format;
  }

  /** Header only: nothing is decoded yet, so a bomb costs nothing here. */
  private async headerOf(data: Buffer, format: ImageFormat): Promise<ImageInfo> {
    const { width, height } = readHeader(data, format) ?? (await this.libvipsHeader(data, format));
    this.checkPixels(width, height);
    return { format, width, height };
  }

  /** libvips' reading of the header, for what readHeader is not sure of. */
  private async libvipsHeader(data: Buffer, format: ImageFormat): Promise<ImageHeader> {
    let meta: Metadata;
    try {
      meta = await sharp(data, this.inputOptions()).metadata();
    } catch (err) {
      throw this.explain(err, format);
    }
    const width = meta.width ?? 0;
    const height = meta.pageHeight ?? meta.height ?? 0;
    return (meta.orientation ?? 1) >= 5 ? { width: height, height: width } : { width, height };
  }

  /**
   * Proves `data` (already through header() or decode()) is whole: a structural walk of the file
   * (checkStructure: every segment inside the file, up to its end marker, PNG CRCs), at about 1/100 of a
   * decode, refuses a truncated or damaged file with the same 422 as a decode. TIFF, which it does not walk,
   * gets a small shrink-on-load decode instead (that still reads every compressed byte). Neither sees damage
   * inside complete compressed data (libjpeg only warns about corrupt JPEG data), and for a JPEG or PNG no
   * table inside it (Huffman, quantisation, palette) is checked before a decode uses it.
   */
  async verify(data: Buffer, format: ImageFormat): Promise<void> {
    if (format === 'bmp') return; // header() or decode() already decoded it whole
    const structure = checkStructure(data, format);
    if (structure === 'complete') return;
    if (structure !== 'unchecked') throw this.explain(new Error(structure), format);
    const image = sharp(data, this.inputOptions({ ignoreIcc: true }));
    await this.toRaw(image.resize(64, 64, { fit: 'inside', withoutEnlargement: true }), format);
  }

  /** Fully decodes to raw pixels, mapping late decode failures (truncated data) to a clear 4xx. */
  async toRaw(image: Sharp, format: ImageFormat): Promise<{ data: Buffer; info: OutputInfo }> {
    try {
      return await image.raw().toBuffer({ resolveWithObject: true });
    } catch (err) {
      throw this.explain(err, format);
    }
  }

  /**
   * How untrusted bytes are opened: the explicit pixel cap, failing on damage, the first frame only;
   * ignoreIcc for pixels: values as stored, as OpenCV reads them (colour-managed values differ slightly).
   */
  private inputOptions(extra: SharpOptions = {}): SharpOptions {
    return { limitInputPixels: this.maxPixels, failOn: 'error', pages: 1, ...extra };
  }

  private decodeBmp(data: Buffer): DecodedImage {
    // libvips has no BMP loader; bmp-js decodes it, after the same header-based pixel check.
    const width = Math.abs(data.readInt32LE(18));
    const height = Math.abs(data.readInt32LE(22));
    this.checkPixels(width, height);
    let decoded: { width: number; height: number; data: Buffer };
    try {
      decoded = bmp.decode(data);
    } catch {
      throw new UnprocessableEntityException('The BMP image is corrupt or uses an unsupported variant.');
    }
    const rgba = Buffer.alloc(decoded.width * decoded.height * 4);
    for (let i = 0; i < rgba.length; i += 4) {
      // bmp-js yields ABGR.
      rgba[i] = decoded.data[i + 3];
      rgba[i + 1] = decoded.data[i + 2];
      rgba[i + 2] = decoded.data[i + 1];
      rgba[i + 3] = 255;
    }
    const image = sharp(rgba, { raw: { width: decoded.width, height: decoded.height, channels: 4 } });
    return { info: { format: 'bmp', width: decoded.width, height: decoded.height }, image };
  }

  private checkPixels(width: number, height: number): void {
    if (width <= 0 || height <= 0) throw new UnprocessableEntityException('The image has no pixels.');
    if (width * height > this.maxPixels) {
      const mp = (n: number) => `${(n / 1e6).toFixed(1)} megapixels`;
      throw new PayloadTooLargeException(
        `The image is ${width}×${height} (${mp(width * height)}); the limit is ${mp(this.maxPixels)}.`,
      );
    }
  }

  private explain(err: unknown, format: ImageFormat): Error {
    const msg = err instanceof Error ? err.message : String(err);
    if (/pixel limit/i.test(msg)) {
      return new PayloadTooLargeException(
        `The image has more pixels than the limit of ${(this.maxPixels / 1e6).toFixed(1)} megapixels.`,
      );
    }
    return new UnprocessableEntityException(`The ${format.toUpperCase()} image is truncated or corrupt.`);
  }
}
