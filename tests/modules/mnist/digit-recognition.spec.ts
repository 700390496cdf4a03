import sharp from 'sharp';
import { ImageDecoder } from '../../../src/common/image/image-decoder';
import { AppConfig } from '../../../src/config/app.config';
import { DigitPreprocessor } from '../../../src/modules/mnist/digit-preprocessor';
import { prepareGrey } from '../../../src/modules/mnist/digit/prepare-grey';
import { resample } from '../../../src/modules/mnist/digit/resample';
import { otsu, triangle } from '../../../src/modules/mnist/digit/thresholds';
import { MnistClassifier, toFloat } from '../../../src/modules/mnist/mnist-classifier';
import { MnistSet } from '../../../src/modules/mnist/idx';
import { ModelMissingError } from '../../../src/modules/models/model-registry';
import { solid } from '../../support/images';
import { refusal } from '../../support/refusal';
import {
  digitAnimatedGif,
  digitCmykJpeg,
  digitExifRotated,
  digitPng16,
  HELD_OUT,
  MODEL_DIR,
  mnistPng,
  styled,
  trainSet,
} from '../../support/mnist-fixtures';

const preprocessor = new DigitPreprocessor(new ImageDecoder({ IMAGE_MAX_PIXELS: 40_000_000 } as AppConfig));

describe('MnistClassifier (onnxruntime, the trained model)', () => {
  let set: MnistSet;
  let clf: MnistClassifier;
  beforeAll(async () => {
    set = await trainSet();
    clf = await MnistClassifier.load(MODEL_DIR, 1);
  });
  afterAll(() => clf.release());

  it('describes itself for /models', () => {
    expect(clf.describe()).toMatchObject({
      inputName: 'input',
      outputName: 'logits',
      inputShape: ['batch', 1, 28, 28],
      labels: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
      normalization: { scale: 255, mean: 0.1307, std: 0.3081 },
    });
    expect(clf.describe().parameters).toBeGreaterThan(10_000);
    expect(clf.describe().modelBytes).toBeGreaterThan(10_000);
  });

  it('classifies 2,000 held-out raw images in one batch call at ≥ 99% accuracy', async () => {
    const n = 2000;
    const batch = Array.from({ length: n }, (_, k) => toFloat(set.image(HELD_OUT + k)));
    const preds = await clf.classify(batch);
    expect(preds).toHaveLength(n);
    const correct = preds.filter((p, k) => p.digit === set.label(HELD_OUT + k)).length;
    expect(correct / n).toBeGreaterThanOrEqual(0.99);
    for (const p of preds.slice(0, 20)) {
      expect(p.probabilities).toHaveLength(10);
      expect(p.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      expect(p.confidence).toBe(Math.max(...p.probabilities));
      expect(p.digit).toBe(p.probabilities.indexOf(p.confidence));
    }
  });

  it('gives the same answer for an image alone and inside a batch', async () => {
    const imgs = [3, 7, 11].map((i) => toFloat(set.image(HELD_OUT + i)));
    const together = await clf.classify(imgs);
    for (let k = 0; k < imgs.length; k++) {
      const [alone] = await clf.classify([imgs[k]]);
      expect(alone.digit).toBe(together[k].digit);
      alone.probabilities.forEach((p, j) => expect(p).toBeCloseTo(together[k].probabilities[j], 5));
    }
  });

  it('refuses an image of the wrong size, and reports a missing model as missing', async () => {
    await expect(clf.classify([new Float32Array(100)])).rejects.toThrow(
      /100 pixels; the model expects 28×28/,
    );
    await expect(MnistClassifier.load('/nonexistent/mnist-cnn')).rejects.toBeInstanceOf(ModelMissingError);
  });
});

describe('DigitPreprocessor (MNIST-style preparation of real uploads)', () => {
  let set: MnistSet;
  let clf: MnistClassifier;
  beforeAll(async () => {
    set = await trainSet();
    clf = await MnistClassifier.load(MODEL_DIR, 1);
  });
  afterAll(() => clf.release());

  async function digitOf(buf: Buffer): Promise<number> {
    const { pixels } = await preprocessor.prepare(buf);
    return (await clf.classify([pixels]))[0].digit;
  }

  it('leaves an MNIST image almost as it is (already cropped, scaled and centred)', async () => {
    for (const i of [HELD_OUT, HELD_OUT + 1, HELD_OUT + 2]) {
      const { pixels, inverted } = await preprocessor.prepare(await mnistPng(set, i));
      expect(inverted).toBe(false);
      const orig = set.image(i);
      let diff = 0;
      for (let p = 0; p < 784; p++) diff += Math.abs(pixels[p] - orig[p]);
      expect(diff / 784).toBeLessThan(12); // mean absolute difference on a 0-255 scale
    }
  });

  it('inverts dark-on-light images and not light-on-dark ones, and centres by mass', async () => {
    const paper = await preprocessor.prepare(await styled(set, HELD_OUT + 5, 'paper'));
    expect(paper.inverted).toBe(true);
    const canvas = await preprocessor.prepare(await styled(set, HELD_OUT + 5, 'canvas'));
    expect(canvas.inverted).toBe(false);
    for (const { pixels } of [paper, canvas]) {
      let m = 0;
      let mx = 0;
      let my = 0;
      let rows = 0;
      for (let y = 0; y < 28; y++) {
        let any = false;
        for (let x = 0; x < 28; x++) {
          const v = pixels[y * 28 + x];
          m += v;
          mx += v * x;
          my += v * y;
          if (v > 0) any = true;
        }
        if (any) rows++;
      }
      expect(Math.abs(mx / m - 14)).toBeLessThan(0.75);
      expect(Math.abs(my / m - 14)).toBeLessThan(0.75);
      expect(Math.max(...pixels)).toBe(255);
      expect(rows).toBeLessThanOrEqual(20); // the longer side is 20 pixels
    }
  });

  it('recognises off-centre, JPEG, alpha and uneven-light photo renderings of real digits', async () => {
    for (const style of ['offcentre', 'jpeg', 'alpha', 'photo'] as const) {
      for (const k of [20, 21, 22]) {
        expect({ style, k, digit: await digitOf(await styled(set, HELD_OUT + k, style)) }).toEqual({
          style,
          k,
          digit: set.label(HELD_OUT + k),
        });
      }
    }
  });

  it('handles 16-bit PNG, CMYK JPEG, animated GIF (first frame) and EXIF-rotated photos', async () => {
    const makers = { png16: digitPng16, cmyk: digitCmykJpeg, gif: digitAnimatedGif, exif: digitExifRotated };
    for (const [kind, make] of Object.entries(makers)) {
      for (const k of [30, 31, 32]) {
        const i = HELD_OUT + k;
        expect({ kind, i, digit: await digitOf(await make(set, i)) }).toEqual({
          kind,
          i,
          digit: set.label(i),
        });
      }
    }
    // The 16-bit image really is 16-bit, and the CMYK one really is CMYK.
    expect((await sharp(await digitPng16(set, HELD_OUT)).metadata()).depth).toBe('ushort');
    expect((await sharp(await digitCmykJpeg(set, HELD_OUT)).metadata()).space).toBe('cmyk');
    expect((await sharp(await digitAnimatedGif(set, HELD_OUT)).metadata()).pages).toBe(2);
  });

  it('thickens thin pen strokes to MNIST’s pen width', () => {
    // A large "1" drawn with a 3-pixel pen, dark on white.
    const w = 300;
    const h = 300;
    const data = new Uint8Array(w * h).fill(250);
    for (let y = 40; y < 260; y++) for (let x = 148; x < 151; x++) data[y * w + x] = 10;
    const { pixels } = prepareGrey({ data, width: w, height: h });
    const row = Array.from(pixels.subarray(14 * 28, 15 * 28));
    expect(row.filter((v) => v > 128).length).toBeGreaterThanOrEqual(2);
  });

  it('answers 422 for images with no digit', async () => {
    const blank = await solid(200, 200).png().toBuffer();
    const grey = await solid(64, 64, [128, 128, 128]).jpeg().toBuffer();
    const black = await solid(28, 28, [0, 0, 0]).png().toBuffer();
    const speck = await sharp(await solid(400, 400).png().toBuffer())
      .composite([{ input: await solid(2, 2, [0, 0, 0]).png().toBuffer(), left: 200, top: 200 }])
      .png()
      .toBuffer();
    const faint = await sharp(
      Buffer.from(Array.from({ length: 100 * 100 }, (_, i) => 200 + (i % 100 > 50 ? 10 : 0))),
      {
        raw: { width: 100, height: 100, channels: 1 },
      },
    )
      .png()
      .toBuffer();
    for (const [name, img] of Object.entries({ blank, grey, black, speck, faint })) {
      const [status, message] = await refusal(preprocessor.prepare(img));
      expect({ name, status }).toEqual({ name, status: 422 });
      expect(message).toMatch(/^The image shows no digit: .+\.$/);
    }
  });

  it('bounds the work on a big photo (12 megapixels) by shrinking it first', async () => {
    const big = await sharp(await styled(set, HELD_OUT + 40, 'paper'))
      .resize(4000, 3000, { fit: 'fill' })
      .jpeg()
      .toBuffer();
    const prepared = await preprocessor.prepare(big);
    expect(prepared.workScale).toBeCloseTo(512 / 4000, 3);
  });
});

describe('preparation helpers', () => {
  it('finds Otsu and triangle thresholds', () => {
    const bimodal = new Array<number>(256).fill(0);
    bimodal[20] = 500;
    bimodal[220] = 500;
    const t = otsu(bimodal, 1000);
    expect(t).toBeGreaterThanOrEqual(20);
    expect(t).toBeLessThan(220);
    const tail = new Array<number>(256).fill(0);
    for (let k = 0; k < 40; k++) tail[k] = Math.round(10000 * Math.exp(-((k - 10) ** 2) / 50));
    for (let k = 150; k < 200; k++) tail[k] = 5;
    const tt = triangle(tail);
    expect(tt).toBeGreaterThan(10);
    expect(tt).toBeLessThan(150);
  });

  it('resamples by area when shrinking (keeps the mean) and linearly when enlarging', () => {
    const src = Float32Array.from({ length: 40 * 40 }, (_, i) =>
      ((i % 40) + Math.floor(i / 40)) % 2 ? 255 : 0,
    );
    const small = resample(src, 40, 40, 20, 20);
    for (const v of small) expect(v).toBeCloseTo(127.5, 3);
    const up = resample(Float32Array.from([0, 100]), 2, 1, 4, 1);
    expect(Array.from(up)).toEqual([0, 25, 75, 100]);
  });
});
