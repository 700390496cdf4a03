import sharp from 'sharp';
import { AppConfig } from '../../../src/config/app.config';
import { ImageDecoder } from '../../../src/common/image/image-decoder';
import { sniffImageFormat } from '../../../src/common/image/image-format';
import { bmpOf, pngBomb, solid } from '../../support/images';
import { refusal } from '../../support/refusal';

const decoder = new ImageDecoder({ IMAGE_MAX_PIXELS: 40_000_000 } as AppConfig);

describe('ImageDecoder', () => {
  it('recognises formats by magic bytes, not by name', async () => {
    expect(sniffImageFormat(await solid(4, 4).png().toBuffer())).toBe('png');
    expect(sniffImageFormat(await solid(4, 4).jpeg().toBuffer())).toBe('jpeg');
    expect(sniffImageFormat(await solid(4, 4).webp().toBuffer())).toBe('webp');
    expect(sniffImageFormat(await solid(4, 4).gif().toBuffer())).toBe('gif');
    expect(sniffImageFormat(await solid(4, 4).tiff().toBuffer())).toBe('tiff');
    expect(sniffImageFormat(Buffer.from('hello, not an image'))).toBeNull();
    expect(sniffImageFormat(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'))).toBeNull();
  });

  it('decodes a PNG with its size', async () => {
    const { info } = await decoder.decode(await solid(30, 20).png().toBuffer());
    expect(info).toMatchObject({ format: 'png', width: 30, height: 20 });
  });

  it('applies EXIF orientation (as OpenCV imread does)', async () => {
    const rotated = await solid(40, 10).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    const { info, image } = await decoder.decode(rotated);
    expect([info.width, info.height]).toEqual([10, 40]);
    const out = await image.png().toBuffer();
    const meta = await sharp(out).metadata();
    expect([meta.width, meta.height]).toEqual([10, 40]);
  });

  it('decodes BMP, which libvips cannot', async () => {
    const rgba = Buffer.alloc(3 * 2 * 4, 0);
    rgba[0] = 200; // first pixel red
    rgba[3] = 255;
    const { info, image } = await decoder.decode(bmpOf(3, 2, rgba));
    expect(info).toMatchObject({ format: 'bmp', width: 3, height: 2 });
    const { data } = await decoder.toRaw(image.removeAlpha(), 'bmp');
    expect(data[0]).toBe(200);
  });

  it('refuses an empty file with 400', async () => {
    expect((await refusal(decoder.decode(Buffer.alloc(0))))[0]).toBe(400);
  });

  it('refuses a non-image with 415 naming the accepted formats', async () => {
    const [code, msg] = await refusal(decoder.decode(Buffer.from('just some text, honestly')));
    expect(code).toBe(415);
    expect(msg).toContain('PNG, JPEG');
  });

  it('refuses a decompression bomb from its header, before decoding', async () => {
    const bomb = pngBomb(50000, 50000);
    expect(bomb.length).toBeLessThan(100_000);
    const before = process.memoryUsage().rss;
    const [code, msg] = await refusal(decoder.decode(bomb));
    expect(code).toBe(413);
    expect(msg).toMatch(/megapixels/);
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * 1024 * 1024);
  });

  it('refuses a truncated JPEG with 422 in one sentence', async () => {
    const jpeg = await solid(64, 64, [10, 200, 30]).jpeg().toBuffer();
    const truncated = jpeg.subarray(0, Math.floor(jpeg.length / 2));
    const full = decoder.decode(truncated).then(({ image, info }) => decoder.toRaw(image, info.format));
    const [code, msg] = await refusal(full);
    expect(code).toBe(422);
    expect(msg).toBe('The JPEG image is truncated or corrupt.');
  });

  it('gives 8-bit grey on white, shrunk to fit, by the same rules on both of its paths', async () => {
    const digit = await sharp(Buffer.alloc(28 * 28, 77), { raw: { width: 28, height: 28, channels: 1 } })
      .toColourspace('b-w')
      .png()
      .toBuffer(); // plain grey: decoded in JavaScript
    const fast = await decoder.grey(digit, 512);
    expect(fast.info).toEqual({ format: 'png', width: 28, height: 28 });
    expect(fast.pixels.data.every((v) => v === 77)).toBe(true);
    // An image with transparency goes through libvips, and is shrunk to fit.
    const alpha = await solid(28, 28).greyscale().ensureAlpha(0.5).png().toBuffer();
    const slow = await decoder.grey(alpha, 14);
    expect([slow.pixels.width, slow.pixels.height, slow.info.width]).toEqual([14, 14, 28]);
    // A damaged plain grey PNG gets the same sentence as anywhere else, and the pixel cap holds.
    const damaged = Buffer.from(digit);
    damaged[damaged.length - 20] ^= 0xff;
    expect(await refusal(decoder.grey(damaged, 512))).toEqual([
      422,
      'The PNG image is truncated or corrupt.',
    ]);
    const small = new ImageDecoder({ IMAGE_MAX_PIXELS: 100 } as AppConfig);
    expect((await refusal(small.grey(digit, 512)))[0]).toBe(413);
  });
});
