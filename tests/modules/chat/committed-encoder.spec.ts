import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { AutoTokenizer, env } from '@huggingface/transformers';
import { loadSentenceEncoder, SentenceEncoder } from '../../../src/modules/chat/embedding/sentence-encoder';
import {
  encoderInput,
  TransformerEmbedder,
  TransformerFactory,
} from '../../../src/modules/chat/embedding/transformer.embedder';
import { INDEX_DEFAULTS } from '../../../src/modules/chat/index/corpus-index';
import { buildRetrieval, fingerprintOf, Retrieval } from '../../../src/modules/chat/retrieval';
import { REPO_ROOT } from '../../support/app';

const MODELS = path.join(REPO_ROOT, 'models');
const NAME = 'ko-sentence-encoder';
interface Reference {
  text: string;
  normalised: string;
  ids: number[];
  embedding: number[];
}
const refs = (
  JSON.parse(readFileSync(path.join(MODELS, NAME, 'reference_embeddings.json'), 'utf8')) as {
    references: Reference[];
  }
).references;

/** The committed encoder (training/sentence-encoder/train_encoder.py), run by the service's own code. */
describe('the committed sentence encoder (models/ko-sentence-encoder)', () => {
  let encoder: SentenceEncoder;
  let retrieval: Retrieval;
  let indexDir: string;

  beforeAll(async () => {
    encoder = await loadSentenceEncoder(MODELS, NAME);
    indexDir = mkdtempSync(path.join(tmpdir(), 'encoder-index-'));
    retrieval = await buildRetrieval(
      {
        corpusDir: path.join(REPO_ROOT, 'corpus'),
        files: ['ko-smalltalk.jsonl'],
        outOfScopeFile: path.join(REPO_ROOT, 'corpus', 'out-of-scope.jsonl'),
        indexDir,
        index: INDEX_DEFAULTS,
      },
      new TransformerFactory(encoder),
    );
  }, 120_000);
  afterAll(async () => {
    await encoder?.dispose();
    rmSync(indexDir, { recursive: true, force: true });
  });

  it('is a BERT in the Hugging Face layout, 256 dimensions', () => {
    expect(encoder).toMatchObject({ modelType: 'bert', dim: 256 });
    expect(refs.length).toBeGreaterThanOrEqual(50);
  });

  it('tokenises as the Python trainer did (same ids, truncation included)', async () => {
    // The tokenizer the encoder's worker loads, from the same files with the same library.
    env.allowRemoteModels = false;
    env.localModelPath = MODELS + path.sep;
    const tokenizer = await AutoTokenizer.from_pretrained(NAME, { local_files_only: true });
    for (const r of refs) {
      const { input_ids } = tokenizer(r.normalised, { truncation: true }) as {
        input_ids: { data: BigInt64Array };
      };
      expect({ text: r.text, ids: Array.from(input_ids.data, Number) }).toEqual({ text: r.text, ids: r.ids });
    }
  });

  it('embeds as PyTorch did: max abs difference ≤ 1e-4 over every reference sentence, batched with padding', async () => {
    const worstOf = (vectors: ArrayLike<number>[], rows: Reference[]) => {
      let worst = 0;
      vectors.forEach((v, i) =>
        Array.from(v).forEach((x, k) => (worst = Math.max(worst, Math.abs(x - rows[i].embedding[k])))),
      );
      return worst;
    };
    // The model and tokenizer on the text the trainer embedded (its own normalisation), all in one batch.
    const data = await encoder.encode(refs.map((r) => r.normalised));
    const rows = refs.map((_, i) => data.subarray(i * encoder.dim, (i + 1) * encoder.dim));
    expect(worstOf(rows, refs)).toBeLessThanOrEqual(1e-4);
    // The service's embedder from the raw text: the same, where encoderInput leaves the trainer's text as it was.
    const plain = refs.filter((r) => encoderInput(r.text) === r.normalised);
    expect(plain.length).toBeGreaterThanOrEqual(45);
    expect(
      worstOf(await new TransformerEmbedder(encoder).embed(plain.map((r) => r.text)), plain),
    ).toBeLessThanOrEqual(1e-4);
  });

  it('serves the corpus through FAISS: questions find themselves, anchors are out of scope', async () => {
    for (const q of ['안녕하세요', '배고파', '잘자']) {
      const seen = await retrieval.inspect(q, 3);
      expect(seen.hits[0].entry.q).toBe(q);
      expect(seen.hits[0].score).toBeGreaterThan(0.999);
    }
    const anchor = retrieval.outOfScope!.file.entries[0];
    const seen = await retrieval.inspect(anchor.q, 3);
    expect(seen.outOfScope).toMatchObject({ q: anchor.q });
    expect(seen.outOfScope!.score).toBeGreaterThan(seen.hits[0].score);
  });

  it('puts paraphrases nearer than unrelated sentences', async () => {
    const [a, b, c] = await new TransformerEmbedder(encoder).embed([
      '배고파 죽겠다',
      '뭐 좀 먹고 싶어',
      '파이썬 코드 짜줘',
    ]);
    const dot = (x: Float32Array, y: Float32Array) => x.reduce((s, v, i) => s + v * y[i], 0);
    expect(dot(a, b)).toBeGreaterThan(dot(a, c));
  });

  it('is part of the index fingerprint: a changed encoder means a new index', async () => {
    const copy = mkdtempSync(path.join(tmpdir(), 'encoder-copy-'));
    try {
      cpSync(path.join(MODELS, NAME), path.join(copy, NAME), { recursive: true });
      const cfg = path.join(copy, NAME, 'config.json');
      writeFileSync(cfg, JSON.stringify({ ...JSON.parse(readFileSync(cfg, 'utf8')), note: 'changed' }));
      const other = await loadSentenceEncoder(copy, NAME);
      try {
        const ids = [new TransformerFactory(encoder).id, new TransformerFactory(other).id];
        expect(ids[0]).not.toBe(ids[1]);
        const corpus = retrieval.corpus;
        expect(fingerprintOf(corpus, ids[0], INDEX_DEFAULTS)).not.toBe(
          fingerprintOf(corpus, ids[1], INDEX_DEFAULTS),
        );
      } finally {
        await other.dispose();
      }
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});
