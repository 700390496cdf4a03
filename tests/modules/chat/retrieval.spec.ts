import { appendFileSync, copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Embedder, EmbedderFactory, EmbedderState } from '../../../src/modules/chat/embedding/embedder';
import {
  HASHED_NGRAM_DEFAULTS,
  HashedNgramFactory,
} from '../../../src/modules/chat/embedding/hashed-ngram.embedder';
import { INDEX_DEFAULTS, IndexOptions } from '../../../src/modules/chat/index/corpus-index';
import { buildRetrieval, RetrievalSettings } from '../../../src/modules/chat/retrieval';
import { CHATBOT_DATA, OUR_CORPUS, OUR_CORPUS_SIZE, OUR_INTENTS } from '../../support/chat-fixtures';

/** Counts what the real factory is asked to do: fitting means the corpus was embedded again. */
class CountingFactory implements EmbedderFactory {
  fits = 0;
  restores = 0;
  constructor(private readonly inner: EmbedderFactory) {}
  get id() {
    return this.inner.id;
  }
  fit(texts: readonly string[]): Promise<Embedder> {
    this.fits++;
    return this.inner.fit(texts);
  }
  restore(state: EmbedderState | undefined): Promise<Embedder> {
    this.restores++;
    return this.inner.restore(state);
  }
}

describe('retrieval: corpus + embedder + persisted FAISS index', () => {
  let dir: string;
  let corpusDir: string;
  let indexDir: string;
  const settings = (
    index: Partial<IndexOptions> = {},
    files = ['ko-smalltalk.jsonl'],
  ): RetrievalSettings => ({
    corpusDir,
    files,
    indexDir,
    index: { ...INDEX_DEFAULTS, ...index },
  });
  const metaFiles = () => readdirSync(indexDir).filter((f) => f.endsWith('.json'));

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'chat-retrieval-'));
    corpusDir = path.join(dir, 'corpus');
    indexDir = path.join(corpusDir, '.index');
    rmSync(corpusDir, { recursive: true, force: true });
    require('node:fs').mkdirSync(corpusDir);
    copyFileSync(OUR_CORPUS, path.join(corpusDir, 'ko-smalltalk.jsonl'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('builds, answers, and persists the index next to the corpus', async () => {
    const factory = new CountingFactory(new HashedNgramFactory());
    const r = await buildRetrieval(settings(), factory);
    expect(r.origin).toBe('built');
    expect(factory.fits).toBe(1);
    expect(r.size).toBe(OUR_CORPUS_SIZE);
    const [best] = await r.search('안녕하세요', 5);
    expect(best).toMatchObject({ entry: { q: '안녕하세요', intent: 'greeting' } });
    expect(best.score).toBeCloseTo(1, 4);
    expect(readdirSync(indexDir).sort()).toEqual([
      `${r.fingerprint.slice(0, 32)}.0.faiss`,
      `${r.fingerprint.slice(0, 32)}.json`,
    ]);
  });

  it('loads the saved index on the next start instead of re-embedding the corpus', async () => {
    const first = await buildRetrieval(settings(), new HashedNgramFactory());
    const factory = new CountingFactory(new HashedNgramFactory());
    const again = await buildRetrieval(settings(), factory);
    expect(again.origin).toBe('loaded');
    expect(factory.fits).toBe(0);
    expect(factory.restores).toBe(1);
    expect(again.fingerprint).toBe(first.fingerprint);
    for (const q of ['ㅎㅇㅎㅇ', '점심 뭐 먹을까', '고마워요 진짜', '양자역학'])
      expect(await again.search(q, 5)).toEqual(await first.search(q, 5));
  });

  it('rebuilds when a corpus file changes, and then knows the new entry', async () => {
    const before = await buildRetrieval(settings(), new HashedNgramFactory());
    appendFileSync(
      path.join(corpusDir, 'ko-smalltalk.jsonl'),
      JSON.stringify({
        q: '오늘 야구 누가 이겼어?',
        a: '경기 결과는 아직 몰라요. 스포츠 뉴스를 확인해 보세요!',
        intent: 'sports',
      }) + '\n',
    );
    const after = await buildRetrieval(settings(), new HashedNgramFactory());
    expect(after.origin).toBe('built');
    expect(after.fingerprint).not.toBe(before.fingerprint);
    expect(after.size).toBe(OUR_CORPUS_SIZE + 1);
    const [best] = await after.search('야구 누가 이겼어', 1);
    expect(best.entry.intent).toBe('sports');
    expect(metaFiles()).toHaveLength(2);
  });

  it('rebuilds when the embedder parameters or the index type change', async () => {
    const base = await buildRetrieval(settings(), new HashedNgramFactory());
    const smaller = await buildRetrieval(
      settings(),
      new HashedNgramFactory({ ...HASHED_NGRAM_DEFAULTS, dim: 1024 }),
    );
    expect(smaller.origin).toBe('built');
    expect(smaller.fingerprint).not.toBe(base.fingerprint);
    const hnsw = await buildRetrieval(
      settings({ kind: 'hnsw', hnswM: 8, hnswEfConstruction: 40 }),
      new HashedNgramFactory({ ...HASHED_NGRAM_DEFAULTS, dim: 1024 }),
    );
    expect(hnsw.origin).toBe('built');
    expect(hnsw.fingerprint).not.toBe(smaller.fingerprint);
    // efSearch is a search-time option: the same index is loaded.
    const hnswWider = await buildRetrieval(
      settings({ kind: 'hnsw', hnswM: 8, hnswEfConstruction: 40, hnswEfSearch: 200 }),
      new HashedNgramFactory({ ...HASHED_NGRAM_DEFAULTS, dim: 1024 }),
    );
    expect(hnswWider.origin).toBe('loaded');
    expect(hnswWider.shards[0].describe()).toMatchObject({ efSearch: 200 });
    expect((await hnswWider.search('안녕하세요', 1))[0].entry.intent).toBe('greeting');
    expect(metaFiles()).toHaveLength(3);
  });

  it('rebuilds over a corrupt saved index, saying why', async () => {
    const first = await buildRetrieval(settings(), new HashedNgramFactory());
    writeFileSync(path.join(indexDir, `${first.fingerprint.slice(0, 32)}.0.faiss`), 'not an index');
    const logs: string[] = [];
    const again = await buildRetrieval(settings(), new HashedNgramFactory(), (m) => logs.push(m));
    expect(again.origin).toBe('built');
    expect(logs.join('\n')).toMatch(/is unusable, rebuilding/);
    expect((await again.search('안녕하세요', 1))[0].entry.q).toBe('안녕하세요');
  });

  it('still serves when the index folder cannot be written', async () => {
    writeFileSync(path.join(dir, 'a-file'), '');
    const logs: string[] = [];
    const r = await buildRetrieval(
      { ...settings(), indexDir: path.join(dir, 'a-file', 'index') },
      new HashedNgramFactory(),
      (m) => logs.push(m),
    );
    expect(r.origin).toBe('built');
    expect(logs.join('\n')).toMatch(/could not save the index/);
  });

  it('keeps the six most recently used indexes in the folder', async () => {
    const dims = [64, 72, 80, 88, 96, 104, 112, 120];
    const built = [];
    for (const dim of dims)
      built.push(await buildRetrieval(settings(), new HashedNgramFactory({ ...HASHED_NGRAM_DEFAULTS, dim })));
    const kept = metaFiles().map((f) => f.slice(0, 32));
    expect(kept).toHaveLength(6);
    expect(kept.sort()).toEqual(
      built
        .slice(-6)
        .map((r) => r.fingerprint.slice(0, 32))
        .sort(),
    );
    expect(readdirSync(indexDir).filter((f) => f.endsWith('.faiss'))).toHaveLength(6);
  });

  it('pools answers by intent for our corpus', async () => {
    const r = await buildRetrieval(settings(), new HashedNgramFactory());
    const [hit] = await r.search('고마워', 1);
    const answers = r.answersFor(hit.id);
    expect(answers[0]).toBe(hit.entry.a);
    expect(new Set(answers).size).toBe(answers.length);
    expect(answers).toEqual(
      expect.arrayContaining(r.corpus.entries.filter((e) => e.intent === 'thanks').map((e) => e.a)),
    );
    const greetings = new Set(r.corpus.entries.filter((e) => e.intent === 'greeting').map((e) => e.a));
    expect(new Set(r.answersOfIntent('greeting'))).toEqual(greetings);
    expect(r.answersOfIntent('greeting')).toHaveLength(greetings.size);
  });

  it('serves our corpus and ChatbotData together: our intents first, ChatbotData answers for its own questions', async () => {
    const r = await buildRetrieval(
      settings({}, ['ko-smalltalk.jsonl', CHATBOT_DATA]),
      new HashedNgramFactory({ ...HASHED_NGRAM_DEFAULTS, dim: 1024 }),
    );
    expect(r.size).toBe(OUR_CORPUS_SIZE + 11823);
    expect(r.shards.map((s) => s.size)).toEqual([OUR_CORPUS_SIZE, 11823]);
    // Our corpus has a breakup intent of its own: both files' questions count under it.
    expect(r.intents()).toMatchObject({
      greeting: OUR_INTENTS.greeting,
      smalltalk: 5290,
      breakup: 3570 + OUR_INTENTS.breakup,
      love: 2963,
    });

    // "안녕하세요" is in both files: ours answers (ranked first), ending in thanks.
    const hello = r.pick(await r.search('안녕하세요', 5), 0.3, 0.5)!;
    expect(hello.entry).toMatchObject({ source: 'ko-smalltalk.jsonl', intent: 'greeting' });

    // A ChatbotData question answers with that question's answers only, not with any "breakup" answer.
    const q = '1000일 만난 여자친구와 이별';
    const hit = r.pick(await r.search(q, 5), 0.3, 0.5)!;
    expect(hit.entry).toMatchObject({
      q,
      intent: 'breakup',
      source: 'ChatbotData.csv',
      a: '더 오래 만날 사람 만날 거예요.',
    });
    expect(r.answersFor(hit.id)).toEqual(['더 오래 만날 사람 만날 거예요.']);

    // A question that occurs twice in ChatbotData with different answers pools both.
    // (Margin 0: our corpus now has its own pets intent, which would otherwise answer first.)
    const dup = r.corpus.entries.filter(
      (e) => e.q === '고양이 키우고 싶어' && e.source === 'ChatbotData.csv',
    );
    expect(dup.length).toBeGreaterThan(1);
    const dupHit = r.pick(await r.search('고양이 키우고 싶어', 5), 0.3, 0)!;
    expect(new Set(r.answersFor(dupHit.id))).toEqual(new Set(dup.map((e) => e.a)));

    // With margin 0 the best match of any file wins.
    const plain = r.pick(await r.search('저녁 뭐 먹지?', 5), 0.3, 0)!;
    const ranked = r.pick(await r.search('저녁 뭐 먹지?', 5), 0.3, 0.5)!;
    expect(plain.entry.source).toBe('ChatbotData.csv');
    expect(ranked.entry).toMatchObject({ source: 'ko-smalltalk.jsonl', intent: 'meal' });
  });
  it('remembers recent inspections (CHAT_RETRIEVAL_CACHE): the same message skips the embedder, bounded, failures forgotten', async () => {
    /** The real hashed embedder, counting its calls on messages and failing on demand. */
    let calls = 0;
    let fail = false;
    const counting = (e: Embedder): Embedder => ({
      id: e.id,
      dim: e.dim,
      state: e.state?.bind(e),
      describe: () => e.describe(),
      embed: async (texts) => {
        if (texts.length === 1) calls++;
        if (fail) throw new Error('encoder queue full');
        return e.embed(texts);
      },
    });
    const inner = new HashedNgramFactory();
    const factory: EmbedderFactory = {
      id: inner.id,
      fit: async (t) => counting(await inner.fit(t)),
      restore: async (s) => counting(await inner.restore(s)),
    };
    const r = await buildRetrieval({ ...settings(), cacheSize: 2 }, factory);
    const first = await r.inspect('안녕하세요', 5);
    expect(first.hits[0].entry.intent).toBe('greeting');
    calls = 0;
    expect(await r.inspect('안녕하세요', 5)).toBe(first);
    expect(calls).toBe(0);
    // Another k is another question; two at once share one embedding.
    const [a, b] = await Promise.all([r.inspect('고마워요', 3), r.inspect('고마워요', 3)]);
    expect(a).toBe(b);
    expect(calls).toBe(1);
    // Bounded: a third message pushes out the least recently used ("안녕하세요").
    await r.inspect('잘 가요', 5);
    calls = 0;
    await r.inspect('안녕하세요', 5);
    expect(calls).toBe(1);
    // A failed inspection is not remembered: the next try embeds again and succeeds.
    fail = true;
    await expect(r.inspect('배고파요', 5)).rejects.toThrow('encoder queue full');
    fail = false;
    calls = 0;
    expect((await r.inspect('배고파요', 5)).hits.length).toBeGreaterThan(0);
    expect(calls).toBe(1);
    // Off (0): every call embeds.
    const off = await buildRetrieval({ ...settings(), cacheSize: 0 }, factory);
    calls = 0;
    await off.inspect('안녕하세요', 5);
    await off.inspect('안녕하세요', 5);
    expect(calls).toBe(2);
  });
});
