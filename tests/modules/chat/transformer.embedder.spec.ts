import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadSentenceEncoder, SentenceEncoder } from '../../../src/modules/chat/embedding/sentence-encoder';
import {
  TransformerEmbedder,
  TransformerFactory,
} from '../../../src/modules/chat/embedding/transformer.embedder';
import { INDEX_DEFAULTS } from '../../../src/modules/chat/index/corpus-index';
import { buildRetrieval } from '../../../src/modules/chat/retrieval';
import { ModelMissingError } from '../../../src/modules/models/model-registry';
import { makeTinyEncoder, OUR_CORPUS, OUR_CORPUS_SIZE, TinyEncoder } from '../../support/chat-fixtures';

const SENTENCES = ['안녕하세요', '점심 뭐 먹지', '고마워요 진짜 진짜 고마워요'];
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Array.from(a).reduce((s, x, i) => s + x * b[i], 0);

/** The transformer path, with a tiny BERT that training/sentence-encoder/make_tiny_bert.py makes. */
describe('transformer sentence encoder (@huggingface/transformers, local files only)', () => {
  let tiny: TinyEncoder;
  let encoder: SentenceEncoder;
  let dir: string;

  beforeAll(async () => {
    tiny = makeTinyEncoder(SENTENCES);
    encoder = await loadSentenceEncoder(tiny.modelsDir, tiny.name);
    dir = mkdtempSync(path.join(tmpdir(), 'chat-transformer-'));
  }, 120_000);
  afterAll(async () => {
    await encoder?.dispose();
    tiny?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads the Hugging Face layout: BERT, hidden size as dimension, a content hash', () => {
    expect(encoder).toMatchObject({ name: 'ko-sentence-tiny', modelType: 'bert', dim: tiny.hiddenSize });
    expect(encoder.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('computes the embeddings PyTorch computes (tokenizer, padding, mean pooling, normalisation)', async () => {
    const embedder = new TransformerEmbedder(encoder);
    // One batch of different lengths: padding must not change anything.
    const vectors = await embedder.embed(SENTENCES);
    vectors.forEach((v, i) => {
      expect(v).toHaveLength(tiny.hiddenSize);
      expect(Math.sqrt(dot(v, v))).toBeCloseTo(1, 5);
      v.forEach((x, j) => expect(x).toBeCloseTo(tiny.reference[i][j], 4));
    });
  });

  it('runs in a worker thread with a bounded queue: a flood of batches gets 503s, the rest their vectors', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 400 }, () => encoder.encode(['안녕하세요'])),
    );
    const refused = results.filter((r) => r.status === 'rejected');
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) expect((r.reason as { getStatus(): number }).getStatus()).toBe(503);
    const done = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    expect(done.length).toBeGreaterThanOrEqual(256);
    for (const v of done) expect(Array.from(v)).toEqual(Array.from(done[0]));
    // Served normally again once the flood is through.
    expect(await encoder.encode(['고마워'])).toHaveLength(tiny.hiddenSize);
  });

  it('normalises messages before encoding them', async () => {
    const embedder = new TransformerEmbedder(encoder);
    const [a, b] = await embedder.embed(['안녕하세요', '안녕하세요!!!!!~~~ ']);
    const [c] = await embedder.embed(['안녕하세요!~']);
    expect(Array.from(b)).toEqual(Array.from(c));
    expect(dot(a, b)).toBeGreaterThan(0.5);
  });

  it('serves a corpus through the same retrieval code: each question finds itself, and the index persists', async () => {
    const corpusDir = path.join(dir, 'corpus');
    mkdirSync(corpusDir);
    copyFileSync(OUR_CORPUS, path.join(corpusDir, 'ko-smalltalk.jsonl'));
    const settings = {
      corpusDir,
      files: ['ko-smalltalk.jsonl'],
      indexDir: path.join(corpusDir, '.index'),
      index: INDEX_DEFAULTS,
    };
    const factory = new TransformerFactory(encoder);
    expect(factory.id).toMatch(/^transformer:v2:norm\d+:ko-sentence-tiny:[0-9a-f]{16}:mean$/);
    const r = await buildRetrieval(settings, factory);
    expect(r.origin).toBe('built');
    expect(r.shards[0].describe()).toMatchObject({ vectors: OUR_CORPUS_SIZE, dim: tiny.hiddenSize });
    for (const q of ['안녕하세요', '점심 뭐 먹지?', '고마워!!!']) {
      const [best] = await r.search(q, 3);
      expect(best.entry.q).toBe(q);
      expect(best.score).toBeGreaterThan(0.999);
    }
    const again = await buildRetrieval(settings, new TransformerFactory(encoder));
    expect(again.origin).toBe('loaded');
    expect(again.describe()).toMatchObject({
      embedder: 'transformer',
      model: 'ko-sentence-tiny',
      pooling: 'mean',
    });
  });

  it('reports a missing model as missing, naming the files it lacks', async () => {
    const err = await loadSentenceEncoder(dir, 'nothing-here').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelMissingError);
    expect((err as Error).message).toMatch(/lacks config\.json, tokenizer\.json, onnx\/model\.onnx$/);
  });
});
