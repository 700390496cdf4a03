import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import sharp, { CreateRaw, Sharp } from 'sharp';
import { ImageFormat, sniffImageFormat } from '../../../src/common/image/image-format';
import { checkStructure } from '../../../src/common/image/image-structure';
import { FACES_DIR } from '../../support/faces-fixtures';

/** A noisy picture, so that the compressed data is not trivially short. */
function noise(width: number, height: number, seed = 1): Sharp {
  const px = Buffer.alloc(width * height * 3);
  let s = seed;
  for (let i = 0; i < px.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    px[i] = ((i % (width * 3)) + (s >>> 24)) & 0xff;
  }
  return sharp(px, { raw: { width, height, channels: 3 } });
}

async function samples(): Promise<[string, Buffer][]> {
  const animated = sharp(Buffer.concat([0, 1, 2].map((k) => Buffer.alloc(24 * 16 * 4, 60 * k + 20))), {
    raw: { width: 24, height: 48, channels: 4, pageHeight: 16 } as CreateRaw,
  });
  return [
    ['baseline JPEG', await noise(120, 80).jpeg().toBuffer()],
    ['progressive JPEG', await noise(120, 80).jpeg({ progressive: true }).toBuffer()],
    [
      'JPEG with EXIF and restart-free 4:4:4',
      await noise(64, 40).jpeg({ chromaSubsampling: '4:4:4' }).withMetadata({ orientation: 6 }).toBuffer(),
    ],
    ['PNG', await noise(90, 60).png().toBuffer()],
    [
      'interlaced 16-bit PNG',
      await noise(50, 30).png({ progressive: true }).toColourspace('rgb16').toBuffer(),
    ],
    ['palette PNG', await noise(40, 40).png({ palette: true }).toBuffer()],
    ['lossy WebP', await noise(80, 60).webp().toBuffer()],
    ['lossless WebP', await noise(80, 60).webp({ lossless: true }).toBuffer()],
    ['WebP with alpha', await noise(30, 30).ensureAlpha(0.5).webp().toBuffer()],
    ['animated WebP', await animated.clone().webp().toBuffer()],
    ['GIF', await noise(70, 50).gif().toBuffer()],
    ['animated GIF', await animated.clone().gif().toBuffer()],
  ];
}

describe('checkStructure', () => {
  let files: [string, Buffer][];
  beforeAll(async () => {
    files = await samples();
  });

  it('finds every whole file complete, including the real photos', () => {
    for (const [name, data] of files) {
      const format = sniffImageFormat(data) as ImageFormat;
      expect([name, checkStructure(data, format)]).toEqual([name, 'complete']);
    }
    const photos = readdirSync(FACES_DIR).filter((f) => /\.(jpe?g|png)$/i.test(f));
    expect(photos.length).toBeGreaterThan(5);
    for (const f of photos) {
      const data = readFileSync(path.join(FACES_DIR, f));
      expect([f, checkStructure(data, sniffImageFormat(data) as ImageFormat)]).toEqual([f, 'complete']);
    }
  });

  it('refuses the file cut at any point, as a decode does', async () => {
    for (const [name, data] of files) {
      const format = sniffImageFormat(data) as ImageFormat;
      // 40 cuts spread over the file, and the last few bytes one by one (where the end marker is).
      const cuts = new Set<number>();
      for (let k = 1; k < 40; k++) cuts.add(Math.floor((data.length * k) / 40));
      for (let k = 1; k <= 3; k++) cuts.add(data.length - k);
      for (const cut of cuts) {
        const part = data.subarray(0, cut);
        if (sniffImageFormat(part) !== format) continue; // too short to be recognised at all
        expect([name, cut, checkStructure(part, format)]).not.toEqual([name, cut, 'complete']);
      }
    }
  });

  it('accepts bytes after the end (trailers some cameras write) and refuses damage it can see', () => {
    const [, jpeg] = files[0];
    expect(checkStructure(Buffer.concat([jpeg, Buffer.from('trailing')]), 'jpeg')).toBe('complete');
    const [, png] = files[3];
    const flipped = Buffer.from(png);
    flipped[60] ^= 0x10; // inside the first IDAT: its CRC no longer matches
    expect(checkStructure(flipped, 'png')).toBe('corrupt');
    const noEoi = Buffer.from(jpeg.subarray(0, jpeg.length - 2));
    expect(checkStructure(Buffer.concat([noEoi, Buffer.from([0xff, 0xd8])]), 'jpeg')).toBe('corrupt');
    const [, webp] = files[6];
    const grown = Buffer.from(webp);
    grown.writeUInt32LE(webp.readUInt32LE(4) + 100, 4); // the RIFF size claims more than there is
    expect(checkStructure(grown, 'webp')).toBe('truncated');
  });

  it('leaves TIFF to a decode', async () => {
    expect(checkStructure(await noise(8, 8).tiff().toBuffer(), 'tiff')).toBe('unchecked');
  });
});
