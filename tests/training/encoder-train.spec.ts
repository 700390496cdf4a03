import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadSentenceEncoder } from '../../src/modules/chat/embedding/sentence-encoder';
import { encoderInput, TransformerEmbedder } from '../../src/modules/chat/embedding/transformer.embedder';
import { REPO_ROOT } from '../support/app';

const PYTHON = '/usr/bin/python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
if (!hasTorch)
  console.warn(`Skipping the sentence-encoder training smoke test: ${PYTHON} cannot import torch.`);

/** The whole encoder pipeline (data, vocabulary, MLM, contrastive, export) on a tiny config, served by Node. */
(hasTorch ? describe : describe.skip)('training/sentence-encoder/train_encoder.py (smoke run)', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(path.join(tmpdir(), 'encoder-train-'));
    execFileSync(
      PYTHON,
      [
        path.join(REPO_ROOT, 'training/sentence-encoder/train_encoder.py'),
        '--smoke',
        '--out',
        path.join(root, 'models', 'smoke-encoder'),
        '--work-dir',
        path.join(root, 'work'),
      ],
      { stdio: 'pipe', timeout: 170_000 },
    );
  }, 180_000);
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('writes the Hugging Face layout with a model card and PyTorch references', () => {
    for (const f of [
      'config.json',
      'tokenizer.json',
      'tokenizer_config.json',
      'onnx/model.onnx',
      'MODEL_CARD.md',
    ])
      expect(existsSync(path.join(root, 'models', 'smoke-encoder', f))).toBe(true);
    const card = readFileSync(path.join(root, 'models', 'smoke-encoder', 'MODEL_CARD.md'), 'utf8');
    expect(card).toMatch(/KorSTS test Spearman/);
  });

  it('is loaded by the service and embeds as PyTorch did (≤ 1e-4)', async () => {
    const encoder = await loadSentenceEncoder(path.join(root, 'models'), 'smoke-encoder');
    try {
      const { references } = JSON.parse(
        readFileSync(path.join(root, 'models', 'smoke-encoder', 'reference_embeddings.json'), 'utf8'),
      ) as { references: { text: string; normalised: string; embedding: number[] }[] };
      // Sentences the embedder prepares as the trainer did (encoderInput joins spaced-out syllables).
      const plain = references.filter((r) => encoderInput(r.text) === r.normalised);
      const vectors = await new TransformerEmbedder(encoder).embed(plain.map((r) => r.text));
      let worst = 0;
      vectors.forEach((v, i) =>
        v.forEach((x, k) => (worst = Math.max(worst, Math.abs(x - plain[i].embedding[k])))),
      );
      expect(worst).toBeLessThanOrEqual(1e-4);
    } finally {
      await encoder.dispose();
    }
  }, 60_000);
});
