import { Injectable } from '@nestjs/common';
import { ImageDecoder } from '../../common/image/image-decoder';
import { GreyImage, PreparedDigit, prepareGrey } from './digit/prepare-grey';

/** Uploads are shrunk to this longer side first: plenty for a 20-pixel digit, and bounds the work. */
const WORK_SIDE = 512;

/**
 * Turns a real-world picture of one digit into what the MNIST model was trained on, the way MNIST itself
 * was made: greyscale (transparency composited on white), white digit on black (a dark-on-light scan is
 * inverted; the background is whichever class the border belongs to), background removed with an Otsu
 * threshold while the anti-aliased edges are kept, specks dropped, cropped to the digit, the longer side
 * scaled to 20 pixels keeping the aspect ratio, and placed in a 28×28 frame by its centre of mass.
 */
@Injectable()
export class DigitPreprocessor {
  constructor(private readonly decoder: ImageDecoder) {}

  /** Decodes untrusted bytes (through ImageDecoder) and prepares the digit. */
  async prepare(data: Buffer): Promise<PreparedDigit> {
    const grey = await this.greyscale(data);
    const prepared = prepareGrey(grey.image);
    return { ...prepared, workScale: grey.scale };
  }

  /** 8-bit greyscale of the first frame, upright, alpha composited on white, shrunk to WORK_SIDE. */
  async greyscale(data: Buffer): Promise<{ image: GreyImage; scale: number }> {
    const { pixels, info } = await this.decoder.grey(data, WORK_SIDE);
    return { image: pixels, scale: pixels.width / info.width };
  }
}
