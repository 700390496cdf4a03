import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { decodeGreyPng } from '../../../src/common/image/grey-png';
import { HELD_OUT, mnistPng, trainSet } from '../../support/mnist-fixtures';

/** libvips' pixels, as ImageDecoder.grey() asks for them when it does not take this path. */
async function libvips(png: Buffer): Promise<Uint8Array> {
  const { data, info } = await sharp(png, { ignoreIcc: true })
    .rotate()
    .flatten({ background: '#ffffff' })
    .toColourspace('b-w')
    .raw()
    .toBuffer({ resolveWithObject: true });
  expect(info.channels).toBe(1);
  return new Uint8Array(data);
}

function grey(width: number, height: number, seed: number) {
  const px = Buffer.alloc(width * height);
  let s = seed;
  for (let i = 0; i < px.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    px[i] = (((i % width) * 3 + Math.floor(i / width)) ^ (s >>> 28)) & 0xff;
  }
  return sharp(px, { raw: { width, height, channels: 1 } }).toColourspace('b-w');
}

/** A grey 8-bit PNG built by hand from `rows` (each a filter byte and the row), with valid CRCs. */
function handmade(width: number, height: number, rows: Buffer, extra: [string, Buffer][] = []): Buffer {
  const chunk = (type: string, body: Buffer) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(body.length, 0);
    head.write(type, 4, 'latin1');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])), 0);
    return Buffer.concat([head, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // depth; colour type 0 (grey), no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    ...extra.map(([t, b]) => chunk(t, b)),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

describe('decodeGreyPng (8-bit grey PNGs without libvips)', () => {
  it('gives the pixels libvips gives, bit for bit: MNIST digits, every row filter, large and stored data', async () => {
    const set = await trainSet();
    const cases: Buffer[] = [];
    for (let i = 0; i < 20; i++) cases.push(await mnistPng(set, HELD_OUT + i));
    cases.push(await grey(512, 300, 1).png({ adaptiveFiltering: true }).toBuffer());
    cases.push(await grey(300, 512, 2).png({ adaptiveFiltering: false }).toBuffer());
    cases.push(await grey(97, 61, 3).png({ compressionLevel: 0 }).toBuffer());
    // Each filter on its own (1 sub, 2 up, 3 average, 4 Paeth), over random rows.
    for (let filter = 0; filter <= 4; filter++) {
      const rows = Buffer.alloc(40 * 41);
      for (let y = 0; y < 40; y++) {
        rows[y * 41] = filter;
        for (let x = 1; x < 41; x++) rows[y * 41 + x] = (x * 37 + y * 101 + filter * 13) & 0xff;
      }
      cases.push(handmade(40, 40, rows));
    }
    for (const png of cases) {
      const got = decodeGreyPng(png, 512);
      if (!got || got === 'corrupt') throw new Error('expected pixels');
      const meta = await sharp(png).metadata();
      expect([got.width, got.height]).toEqual([meta.width, meta.height]);
      expect(Buffer.from(got.data).equals(Buffer.from(await libvips(png)))).toBe(true);
    }
  });

  it('leaves other PNGs to libvips', async () => {
    const base = grey(30, 20, 4);
    expect(decodeGreyPng(await base.clone().toColourspace('srgb').png().toBuffer(), 512)).toBeUndefined();
    expect(decodeGreyPng(await base.clone().ensureAlpha(0.5).png().toBuffer(), 512)).toBeUndefined();
    expect(
      decodeGreyPng(await base.clone().png({ progressive: true }).toBuffer(), 512), // Adam7
    ).toBeUndefined();
    expect(decodeGreyPng(await base.clone().toColourspace('grey16').png().toBuffer(), 512)).toBeUndefined();
    expect(decodeGreyPng(await base.clone().png().toBuffer(), 29)).toBeUndefined(); // larger than asked
    const rows = Buffer.alloc(2 * 3);
    expect(decodeGreyPng(handmade(2, 2, rows, [['tRNS', Buffer.from([0, 0])]]), 512)).toBeUndefined();
    expect(
      decodeGreyPng(
        await sharp(Buffer.alloc(12, 1), { raw: { width: 2, height: 2, channels: 3 } })
          .jpeg()
          .toBuffer(),
        512,
      ),
    ).toBeUndefined();
  });

  it('calls a damaged or lying PNG corrupt, and a zip bomb costs nothing', async () => {
    const png = await grey(28, 28, 5).png().toBuffer();
    expect(decodeGreyPng(png.subarray(0, png.length - 20), 512)).toBe('corrupt'); // truncated
    const flipped = Buffer.from(png);
    flipped[50] ^= 0xff; // inside IDAT: its CRC no longer matches
    expect(decodeGreyPng(flipped, 512)).toBe('corrupt');
    expect(decodeGreyPng(handmade(28, 28, Buffer.alloc(28 * 29 - 1)), 512)).toBe('corrupt'); // a row short
    const badFilter = Buffer.alloc(28 * 29);
    badFilter[29] = 7;
    expect(decodeGreyPng(handmade(28, 28, badFilter), 512)).toBe('corrupt');
    // 28×28 in the header, 200 MB of zeros in the data: refused after inflating one image's worth.
    const bomb = handmade(28, 28, Buffer.alloc(200 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(300 * 1024);
    expect(decodeGreyPng(bomb, 512)).toBe('corrupt');
  });
});
