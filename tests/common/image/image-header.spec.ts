import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import sharp, { Sharp } from 'sharp';
import { sniffImageFormat } from '../../../src/common/image/image-format';
import { readHeader } from '../../../src/common/image/image-header';
import { FACES_DIR } from '../../support/faces-fixtures';

function noise(width: number, height: number): Sharp {
  const px = Buffer.alloc(width * height * 3);
  for (let i = 0; i < px.length; i++) px[i] = (i * 7919) % 251;
  return sharp(px, { raw: { width, height, channels: 3 } });
}

/** libvips' answer: the upright size from sharp's metadata. */
async function upright(data: Buffer): Promise<{ width: number; height: number }> {
  const m = await sharp(data).metadata();
  const [w, h] = [m.width ?? 0, m.pageHeight ?? m.height ?? 0];
  return (m.orientation ?? 1) >= 5 ? { width: h, height: w } : { width: w, height: h };
}

/** A PNG with one more chunk (its CRC is not checked by readHeader) after IHDR. */
function withChunk(png: Buffer, type: string, body: Buffer): Buffer {
  const chunk = Buffer.alloc(12 + body.length);
  chunk.writeUInt32BE(body.length, 0);
  chunk.write(type, 4, 'latin1');
  body.copy(chunk, 8);
  return Buffer.concat([png.subarray(0, 33), chunk, png.subarray(33)]);
}

describe('readHeader (the size of a JPEG or PNG without libvips)', () => {
  it('agrees with libvips on every EXIF orientation, progressive JPEGs, PNG kinds and real photos', async () => {
    const cases: Buffer[] = [];
    for (let orientation = 1; orientation <= 8; orientation++) {
      cases.push(await noise(64, 40).jpeg().withMetadata({ orientation }).toBuffer());
    }
    cases.push(await noise(90, 33).jpeg({ progressive: true }).toBuffer());
    cases.push(await noise(90, 33).jpeg({ chromaSubsampling: '4:4:4' }).toBuffer());
    cases.push(await noise(50, 30).png().toBuffer());
    cases.push(await noise(50, 30).png({ palette: true }).toBuffer());
    cases.push(await noise(50, 30).png({ progressive: true }).toColourspace('rgb16').toBuffer());
    cases.push(await noise(50, 30).ensureAlpha(0.5).png().toBuffer());
    for (const f of readdirSync(FACES_DIR).filter((n) => /\.(jpe?g|png)$/i.test(n))) {
      cases.push(readFileSync(path.join(FACES_DIR, f)));
    }
    for (const data of cases) {
      const format = sniffImageFormat(data);
      expect(format === 'jpeg' || format === 'png').toBe(true);
      // Every one of these is read here (none is left to libvips), and read as libvips reads it.
      expect(readHeader(data, format!)).toEqual(await upright(data));
    }
  });

  it('leaves to libvips what it is not sure of', async () => {
    const jpeg = await noise(64, 40).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    const png = await noise(50, 30).png().toBuffer();
    expect(readHeader(await noise(20, 20).webp().toBuffer(), 'webp')).toBeUndefined();
    expect(readHeader(await noise(20, 20).gif().toBuffer(), 'gif')).toBeUndefined();
    // Cut before the frame header, or before the scan.
    expect(readHeader(jpeg.subarray(0, 30), 'jpeg')).toBeUndefined();
    const sos = jpeg.indexOf(Buffer.from([0xff, 0xda]));
    expect(readHeader(jpeg.subarray(0, sos), 'jpeg')).toBeUndefined();
    // An EXIF block that is not TIFF, and a lossless (SOF3) frame.
    const app1 = jpeg.indexOf(Buffer.from('Exif\0\0', 'latin1'));
    const badExif = Buffer.from(jpeg);
    badExif.write('XX', app1 + 6, 'latin1');
    expect(readHeader(badExif, 'jpeg')).toBeUndefined();
    const sof3 = Buffer.from(jpeg);
    sof3[sof3.indexOf(Buffer.from([0xff, 0xc0])) + 1] = 0xc3;
    expect(readHeader(sof3, 'jpeg')).toBeUndefined();
    // A PNG with an eXIf chunk (an orientation libvips may apply), a zero width, and one cut after IHDR.
    expect(
      readHeader(withChunk(png, 'eXIf', Buffer.from('MM\0*\0\0\0\x08\0\0', 'latin1')), 'png'),
    ).toBeUndefined();
    const zero = Buffer.from(png);
    zero.writeUInt32BE(0, 16);
    expect(readHeader(zero, 'png')).toBeUndefined();
    expect(readHeader(png.subarray(0, 33), 'png')).toBeUndefined();
    // A text chunk before the data is no reason to ask libvips.
    expect(readHeader(withChunk(png, 'tEXt', Buffer.from('Comment\0hi', 'latin1')), 'png')).toEqual({
      width: 50,
      height: 30,
    });
  });
});
