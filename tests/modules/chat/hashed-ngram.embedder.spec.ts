import { readFileSync } from 'node:fs';
import {
  HASHED_NGRAM_DEFAULTS,
  HashedNgramEmbedder,
  HashedNgramFactory,
  ngramFeatures,
} from '../../../src/modules/chat/embedding/hashed-ngram.embedder';
import { OUR_CORPUS } from '../../support/chat-fixtures';

const questions = readFileSync(OUR_CORPUS, 'utf8')
  .trim()
  .split('\n')
  .map((l) => (JSON.parse(l) as { q: string }).q);

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i], 0);
const norm = (a: Float32Array) => Math.sqrt(dot(a, a));

describe('hashed n-gram embedder', () => {
  const embedder = HashedNgramEmbedder.fit(questions);

  it('makes unit vectors of the configured size', async () => {
    const [a, b] = await embedder.embed(['안녕하세요', '점심 뭐 먹지?']);
    expect(a).toHaveLength(HASHED_NGRAM_DEFAULTS.dim);
    expect(norm(a)).toBeCloseTo(1, 5);
    expect(norm(b)).toBeCloseTo(1, 5);
    expect(embedder.dim).toBe(2048);
  });

  it('is deterministic and insensitive to spacing, punctuation and repeats', async () => {
    const [a, b, c] = await embedder.embed(['안녕하세요', '안녕 하세요!!!', '안녕하세요~~~~']);
    expect(dot(a, b)).toBeCloseTo(1, 5);
    expect(dot(a, c)).toBeCloseTo(1, 5);
    expect(Array.from(embedder.embedOne('고마워'))).toEqual(Array.from(embedder.embedOne('고마워')));
  });

  it('puts paraphrases and typos closer than unrelated messages', async () => {
    const [hello, typo, thanks, lunch] = await embedder.embed([
      '반가워요',
      '방가워요',
      '고마워요',
      '점심 뭐 먹지',
    ]);
    expect(dot(hello, typo)).toBeGreaterThan(0.4);
    expect(dot(hello, typo)).toBeGreaterThan(dot(hello, thanks));
    expect(dot(hello, lunch)).toBeLessThan(0.1);
  });

  it('uses jamo n-grams (a one-jamo typo keeps most of the similarity)', () => {
    const withJamo = HashedNgramEmbedder.fit(questions);
    const withoutJamo = HashedNgramEmbedder.fit(questions, { ...HASHED_NGRAM_DEFAULTS, jamoWeight: 0 });
    const sim = (e: HashedNgramEmbedder) => dot(e.embedOne('고마워'), e.embedOne('고마웡'));
    expect(sim(withJamo)).toBeGreaterThan(sim(withoutJamo));
    expect(ngramFeatures('가', HASHED_NGRAM_DEFAULTS).size).toBeGreaterThan(
      ngramFeatures('가', { ...HASHED_NGRAM_DEFAULTS, jamoWeight: 0 }).size,
    );
  });

  it('embeds an empty or symbol-only message as a zero vector, not NaN', () => {
    const v = embedder.embedOne('!!!');
    expect(v.every((x) => x === 0)).toBe(true);
  });

  it('weights rare n-grams above common ones (IDF fitted on the corpus)', () => {
    const common = embedder.embedOne('요');
    const rare = embedder.embedOne('꿀잠');
    expect(Math.max(...rare)).toBeGreaterThan(0);
    // A message of one common syllable and one of a rare word both normalise to 1; IDF shows in the fit.
    expect(embedder.state().documents).toBe(questions.length);
    expect(norm(common)).toBeCloseTo(1, 5);
  });

  it('restores from its saved state to the very same vectors', async () => {
    const factory = new HashedNgramFactory();
    const restored = await factory.restore(embedder.state());
    expect(restored.id).toBe(embedder.id);
    const [a] = await restored.embed(['ㅎㅇㅎㅇ 반가웡']);
    expect(Array.from(a)).toEqual(Array.from(embedder.embedOne('ㅎㅇㅎㅇ 반가웡')));
  });

  it('refuses a saved state of another size', async () => {
    await expect(
      new HashedNgramFactory({ ...HASHED_NGRAM_DEFAULTS, dim: 1024 }).restore(embedder.state()),
    ).rejects.toThrow(/do not match CHAT_EMBED_DIM/);
    await expect(new HashedNgramFactory().restore(undefined)).rejects.toThrow(/no IDF weights/);
  });

  it('names its parameters in its id (part of the index fingerprint)', () => {
    const a = new HashedNgramFactory().id;
    const b = new HashedNgramFactory({ ...HASHED_NGRAM_DEFAULTS, dim: 4096 }).id;
    expect(a).toMatch(/^hashed-ngram:v\d+:norm\d+:d2048/);
    expect(a).not.toBe(b);
  });
});
