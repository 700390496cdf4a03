import { Injectable } from '@nestjs/common';
import sharp from 'sharp';

export type EncodedFormat = 'png' | 'jpeg' | 'webp';

/** Upright 8-bit pixels, row-major, 3 (RGB) or 4 (RGBA) channels. */
export interface RawPixels {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 3 | 4;
}

/**
 * The one place pixels become an image file (sharp), beside ImageDecoder. Metadata (EXIF orientation, GPS) is
 * not carried over: the pixels are already upright.
 */
@Injectable()
export class ImageEncoder {
  encode(image: RawPixels, format: EncodedFormat): Promise<Buffer> {
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
}
