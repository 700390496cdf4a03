import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { ImageDecoder } from '../../../src/common/image/image-decoder';
import { AppConfig } from '../../../src/config/app.config';
import { DigitPreprocessor } from '../../../src/modules/mnist/digit-preprocessor';
import { MnistClassifier } from '../../../src/modules/mnist/mnist-classifier';
import { MnistSet } from '../../../src/modules/mnist/idx';
import { HELD_OUT, MODEL_DIR, mnistPng, STYLES, styled, trainSet } from '../../support/mnist-fixtures';

/**
 * What the digit preparation and the CNN answered, recorded before the preparation was made faster
 * (`WRITE_GOLDEN=1 npx jest tests/modules/mnist/prepared-golden` at commit 26e6719, the JavaScript path
 * as it was): every later version, and every faster path, must give the same digit with a confidence
 * within 1e-3 on the same images (plain MNIST PNGs and the six real-world styles, 20 held-out digits each).
 */
const GOLDEN = path.join(__dirname, 'prepared-golden.json');
const PER_STYLE = 20;

interface Golden {
  style: string;
  index: number;
  digit: number | null;
  confidence: number | null;
  /** The refusal, for an image the preparation refuses. */
  refused?: string;
}

describe('digit preparation against its recorded answers', () => {
  let set: MnistSet;
  let clf: MnistClassifier;
  const preprocessor = new DigitPreprocessor(new ImageDecoder({ IMAGE_MAX_PIXELS: 40_000_000 } as AppConfig));
  beforeAll(async () => {
    set = await trainSet();
    clf = await MnistClassifier.load(MODEL_DIR, 1);
  });
  afterAll(() => clf.release());

  async function answer(style: string, index: number): Promise<Golden> {
    const bytes = style === 'mnist' ? await mnistPng(set, index) : await styled(set, index, style as never);
    try {
      const { pixels } = await preprocessor.prepare(bytes);
      const [p] = await clf.classify([pixels]);
      return { style, index, digit: p.digit, confidence: p.confidence };
    } catch (err) {
      return { style, index, digit: null, confidence: null, refused: (err as Error).message };
    }
  }

  it('gives the same digit, with a confidence within 1e-3, on 140 images', async () => {
    const now: Golden[] = [];
    for (const style of ['mnist', ...STYLES]) {
      for (let k = 0; k < PER_STYLE; k++) now.push(await answer(style, HELD_OUT + 1 + 37 * k));
    }
    if (process.env.WRITE_GOLDEN === '1' || !existsSync(GOLDEN)) {
      if (process.env.CI) throw new Error(`${GOLDEN} is missing`);
      writeFileSync(GOLDEN, JSON.stringify(now, null, 1) + '\n');
    }
    const golden = JSON.parse(readFileSync(GOLDEN, 'utf8')) as Golden[];
    expect(now.map((g) => [g.style, g.index])).toEqual(golden.map((g) => [g.style, g.index]));
    for (const [i, g] of golden.entries()) {
      const n = now[i];
      expect([g.style, g.index, n.digit, n.refused]).toEqual([g.style, g.index, g.digit, g.refused]);
      if (g.confidence !== null)
        expect(Math.abs((n.confidence ?? 0) - g.confidence)).toBeLessThanOrEqual(1e-3);
    }
    // The recorded answers are mostly right (this is no test of a broken recording).
    const right = golden.filter((g) => g.digit === set.label(g.index)).length;
    expect(right / golden.length).toBeGreaterThan(0.9);
  });
});
