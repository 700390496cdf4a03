/**
 * `npm run eval:mnist-styles -- [--count N] [MODEL_DIR ...]`
 *
 * Accuracy of one or more digit classifiers on real-world renderings of held-out MNIST digits: the six styles of
 * the test fixtures (paper, jpeg, offcentre, canvas, alpha, photo: tests/support/mnist-fixtures.ts), each made
 * from the first `count` images after HELD_OUT (the 5,000 the training script keeps out of training) and sent
 * through the served DigitPreprocessor, plus the same digits raw. Every model sees the same prepared inputs.
 * Default: 500 images per style and the served model (MODELS_DIR/MNIST_MODEL). Prints one markdown row per model.
 *
 *   npm run eval:mnist-styles -- --count 500 models/mnist-cnn /tmp/mnist16
 */
import * as path from 'node:path';
import { ImageDecoder } from '../src/common/image/image-decoder';
import { AppConfig } from '../src/config/app.config';
import { DigitPreprocessor } from '../src/modules/mnist/digit-preprocessor';
import { MnistClassifier, toFloat } from '../src/modules/mnist/mnist-classifier';
import { HELD_OUT, STYLES, styled, trainSet } from '../tests/support/mnist-fixtures';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let count = 500;
  const models: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--count') count = Number(argv[++i]);
    else models.push(argv[i]);
  }
  if (!Number.isInteger(count) || count < 1 || count > 5000) throw new Error('--count must be 1 to 5000');
  if (models.length === 0) {
    models.push(path.join(process.env.MODELS_DIR || 'models', process.env.MNIST_MODEL || 'mnist-cnn'));
  }
  const set = await trainSet();
  const preprocessor = new DigitPreprocessor(new ImageDecoder({ IMAGE_MAX_PIXELS: 40e6 } as AppConfig));
  const labels = Array.from({ length: count }, (_, k) => set.label(HELD_OUT + k));
  const inputs: [string, Float32Array[]][] = [
    ['raw', labels.map((_, k) => toFloat(set.image(HELD_OUT + k)))],
  ];
  for (const style of STYLES) {
    const prepared: Float32Array[] = [];
    for (let k = 0; k < count; k++) {
      prepared.push((await preprocessor.prepare(await styled(set, HELD_OUT + k, style))).pixels);
    }
    inputs.push([style, prepared]);
  }
  console.log(`${count} held-out digits (from index ${HELD_OUT}) per style; accuracy in %\n`);
  console.log(`| model | ${inputs.map(([name]) => name).join(' | ')} | all six styles |`);
  console.log(`|---|${inputs.map(() => '---:|').join('')}---:|`);
  for (const dir of models) {
    const classifier = await MnistClassifier.load(path.resolve(dir), 1);
    const cells: string[] = [];
    let styledCorrect = 0;
    for (const [name, xs] of inputs) {
      const correct = (await classifier.classify(xs)).filter((p, k) => p.digit === labels[k]).length;
      if (name !== 'raw') styledCorrect += correct;
      cells.push(((correct / count) * 100).toFixed(1));
    }
    await classifier.release();
    const all = ((styledCorrect / (count * STYLES.length)) * 100).toFixed(2);
    console.log(`| ${dir} | ${cells.join(' | ')} | ${all} |`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`eval:mnist-styles failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
