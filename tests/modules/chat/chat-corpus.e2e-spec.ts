import { appendFileSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import request from 'supertest';
import { TestApp } from '../../support/app';
import { CHATBOT_DATA, OUR_CORPUS, OUR_CORPUS_SIZE, startChatApp } from '../../support/chat-fixtures';

describe('chat corpus: reload under load, bad corpora (real app)', () => {
  let t: TestApp;
  let corpusDir: string;
  const corpusFile = () => path.join(corpusDir, 'ko-smalltalk.jsonl');

  beforeAll(async () => {
    corpusDir = mkdtempSync(path.join(tmpdir(), 'chat-corpus-e2e-'));
    copyFileSync(OUR_CORPUS, corpusFile());
    t = await startChatApp({ CORPUS_DIR: corpusDir, CHAT_INDEX_DIR: '', CHAT_RATE_LIMIT_IP_PER_MIN: '0' });
  });
  afterAll(async () => {
    await t.close();
    rmSync(corpusDir, { recursive: true, force: true });
  });

  it('keeps the index in CORPUS_DIR/.index', async () => {
    const res = await request(t.url).get('/models').expect(200);
    const model = res.body.models.find((m: { name: string }) => m.name === 'chat-retrieval');
    expect(model.folder).toBe(path.relative(process.cwd(), path.join(corpusDir, '.index')));
    expect(model.files.map((f: { path: string }) => path.extname(f.path)).sort()).toEqual([
      '.faiss',
      '.json',
    ]);
  });

  it('swaps in a changed corpus while requests run, failing none of them', async () => {
    appendFileSync(
      corpusFile(),
      JSON.stringify({
        q: '오늘 야구 누가 이겼어?',
        a: '경기 결과는 아직 몰라요. 스포츠 뉴스를 확인해 보세요!',
        intent: 'sports',
      }) + '\n',
    );
    let stop = false;
    const statuses: number[] = [];
    const load = (async () => {
      while (!stop) {
        const batch = await Promise.all(
          Array.from({ length: 8 }, () => request(t.url).post('/chat').send({ message: '안녕하세요' })),
        );
        statuses.push(...batch.map((r) => r.status));
      }
    })();
    await new Promise((r) => setTimeout(r, 100));
    const reload = await request(t.url).post('/chat/corpus/reload').expect(200);
    await new Promise((r) => setTimeout(r, 100));
    stop = true;
    await load;
    expect(reload.body).toMatchObject({
      entries: OUR_CORPUS_SIZE + 1,
      origin: 'built',
      intents: expect.objectContaining({ sports: 1 }),
    });
    expect(statuses.length).toBeGreaterThan(16);
    expect(new Set(statuses)).toEqual(new Set([200]));
    const res = await request(t.url).post('/chat').send({ message: '야구 누가 이겼어?' }).expect(200);
    expect(res.body).toMatchObject({
      source: 'retrieval',
      intent: 'sports',
      matched: '오늘 야구 누가 이겼어?',
    });
  });

  it('refuses a broken corpus with 422 and keeps serving the index it has', async () => {
    appendFileSync(corpusFile(), '{"q": "broken line"\n');
    const res = await request(t.url).post('/chat/corpus/reload').expect(422);
    expect(res.body.message).toMatch(
      new RegExp(
        `^The corpus cannot be loaded: ko-smalltalk\\.jsonl line ${OUR_CORPUS_SIZE + 2} is not valid JSON\\.$`,
      ),
    );
    await request(t.url).post('/chat').send({ message: '야구 누가 이겼어?' }).expect(200);
    expect(t.registry.readiness().notReady.map((m) => m.name)).not.toContain('chat-retrieval');
  });
});

describe('chat corpus configuration', () => {
  it('serves our corpus and ChatbotData together (CHAT_CORPUS_FILES)', async () => {
    const t = await startChatApp({
      CHAT_CORPUS_FILES: `ko-smalltalk.jsonl, ${CHATBOT_DATA}`,
      // CHAT_EMBED_DIM is the n-gram embedder's; these cases are about the corpus files, not the embedder.
      CHAT_EMBEDDER: 'hashed-ngram',
      CHAT_EMBED_DIM: '1024',
      CHAT_RATE_LIMIT_IP_PER_MIN: '0',
    });
    try {
      const models = await request(t.url).get('/models').expect(200);
      const model = models.body.models.find((m: { name: string }) => m.name === 'chat-retrieval');
      expect(model.details).toMatchObject({
        entries: OUR_CORPUS_SIZE + 11823,
        files: [
          { name: 'ko-smalltalk.jsonl', format: 'jsonl', entries: OUR_CORPUS_SIZE },
          { name: 'ChatbotData.csv', format: 'chatbotdata-csv', entries: 11823 },
        ],
      });
      const hello = await request(t.url).post('/chat').send({ message: '안녕하세요' }).expect(200);
      expect(hello.body).toMatchObject({
        intent: 'greeting',
        reply: expect.stringMatching(/감사합니다[.!]$/),
      });
      const breakup = await request(t.url)
        .post('/chat')
        .send({ message: '10년 연애. 헤어졌습니다.' })
        .expect(200);
      expect(breakup.body).toMatchObject({
        source: 'retrieval',
        intent: 'breakup',
        matched: '10년 연애. 헤어졌습니다.',
        reply: '더 공허함이 크시겠네요.',
      });
    } finally {
      await t.close();
    }
  });

  it('is not ready, and says why, when a corpus file is missing', async () => {
    const t = await startChatApp({ CHAT_CORPUS_FILES: 'no-such-file.jsonl' });
    try {
      const ready = await request(t.url).get('/health/ready').expect(503);
      expect(JSON.stringify(ready.body)).toMatch(/chat-retrieval/);
      expect(t.registry.readiness().notReady.map((m) => m.name)).toContain('chat-retrieval');
      const res = await request(t.url).post('/chat').send({ message: '안녕하세요' }).expect(503);
      expect(res.body.message).toMatch(
        /^Model "chat-retrieval" \(sentence-similarity\) failed to load: corpus file .*no-such-file\.jsonl does not exist/,
      );
    } finally {
      await t.close();
    }
  });

  it('stops start-up on an invalid chat variable, naming it', async () => {
    await expect(startChatApp({ CHAT_INDEX: 'annoy' })).rejects.toThrow(/CHAT_INDEX/);
    await expect(startChatApp({ CHAT_MIN_SCORE: '2' })).rejects.toThrow(/CHAT_MIN_SCORE/);
    await expect(startChatApp({ CHAT_ENCODER_MODEL: '../../etc' })).rejects.toThrow(/CHAT_ENCODER_MODEL/);
  });

  it('answers 503 while the index is still loading', async () => {
    // A corpus big enough (12k questions) that the first request arrives before its index is built.
    const t = await startChatApp(
      { CHAT_CORPUS_FILES: CHATBOT_DATA, CHAT_EMBEDDER: 'hashed-ngram', CHAT_EMBED_DIM: '256' },
      { waitForModels: false },
    );
    try {
      const res = await request(t.url).post('/chat').send({ message: '안녕하세요' }).expect(503);
      expect(res.body.message).toBe(
        'Model "chat-retrieval" (sentence-similarity) is still loading; try again shortly.',
      );
      const ready = await request(t.url).get('/health/ready').expect(503);
      expect(JSON.stringify(ready.body)).toMatch(/chat-retrieval/);
      await t.registry.settled();
      await request(t.url).post('/chat').send({ message: '안녕하세요' }).expect(200);
    } finally {
      await t.close();
    }
  });
});
