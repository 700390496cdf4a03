import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { MnistClassifier, toFloat } from '../../src/modules/mnist/mnist-classifier';
import { REPO_ROOT } from '../support/app';
import { HELD_OUT, MNIST_DIR, trainSet } from '../support/mnist-fixtures';

const PYTHON = '/usr/bin/python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
if (!hasTorch) {
  console.warn(
    `Skipping the MNIST training smoke test: ${PYTHON} cannot import torch (apt-get install python3-torch).`,
  );
}

/** The training script, for a few steps on a slice of the real data, then served by the Node inference code. */
(hasTorch ? describe : describe.skip)('training/mnist/train_cnn.py (smoke run)', () => {
  let out: string;
  beforeAll(() => {
    out = mkdtempSync(path.join(tmpdir(), 'mnist-train-'));
    execFileSync(
      PYTHON,
      [
        path.join(REPO_ROOT, 'training/mnist/train_cnn.py'),
        '--limit',
        '2000',
        '--max-steps',
        '20',
        '--data-dir',
        MNIST_DIR,
        '--out-dir',
        out,
      ],
      { stdio: 'pipe', timeout: 170_000 },
    );
  }, 180_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('writes model.onnx, config.json and a model card the server can load', async () => {
    const config = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ input_name: 'input', output_name: 'logits', input_shape: [1, 28, 28] });
    expect(readFileSync(path.join(out, 'MODEL_CARD.md'), 'utf8')).toContain('SMOKE-TEST');
    const clf = await MnistClassifier.load(out, 1);
    try {
      expect(clf.describe()).toMatchObject({ inputShape: ['batch', 1, 28, 28], inputName: 'input' });
    } finally {
      await clf.release();
    }
  });

  it('classifies its validation slice in Node exactly as PyTorch measured it', async () => {
    const config = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'));
    const n = config.validation_images as number; // the slice starting at index 55,000
    const set = await trainSet();
    const clf = await MnistClassifier.load(out, 1);
    try {
      const preds = await clf.classify(Array.from({ length: n }, (_, k) => toFloat(set.image(HELD_OUT + k))));
      expect(preds).toHaveLength(n);
      for (const p of preds) expect(p.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      const correct = preds.filter((p, k) => p.digit === set.label(HELD_OUT + k)).length;
      // Same weights, same normalisation: the same accuracy (one image of slack for float ties).
      expect(Math.abs(correct - config.validation_accuracy * n)).toBeLessThanOrEqual(1);
    } finally {
      await clf.release();
    }
  });
});
