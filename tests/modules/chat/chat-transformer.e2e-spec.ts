import request from 'supertest';
import { TestApp } from '../../support/app';
import { makeTinyEncoder, OUR_CORPUS_SIZE, startChatApp, TinyEncoder } from '../../support/chat-fixtures';

/** CHAT_EMBEDDER=transformer: the encoder is a model of the registry and the index is built with it. */
describe('chat with a transformer sentence encoder (real app, tiny BERT made by our script)', () => {
  let tiny: TinyEncoder;
  let t: TestApp;
  beforeAll(async () => {
    tiny = makeTinyEncoder();
    t = await startChatApp({
      MODELS_DIR: tiny.modelsDir,
      CHAT_EMBEDDER: 'transformer',
      CHAT_ENCODER_MODEL: tiny.name,
      // A random-weight encoder only recognises (near) exact questions.
      CHAT_MIN_SCORE: '0.98',
      CHAT_RATE_LIMIT_IP_PER_MIN: '0',
    });
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    tiny?.cleanup();
  });

  it('registers the encoder and the index, both required and ready', async () => {
    const notReady = t.registry.readiness().notReady.map((m) => m.name);
    expect(notReady).not.toContain('chat-encoder');
    expect(notReady).not.toContain('chat-retrieval');
    const res = await request(t.url).get('/models').expect(200);
    const encoder = res.body.models.find((m: { name: string }) => m.name === 'chat-encoder');
    const index = res.body.models.find((m: { name: string }) => m.name === 'chat-retrieval');
    expect(encoder).toMatchObject({ status: 'ready', required: true, task: 'feature-extraction' });
    expect(encoder.details).toMatchObject({ modelType: 'bert', dim: tiny.hiddenSize, pooling: 'mean' });
    expect(encoder.files.map((f: { path: string }) => f.path.split('/').slice(-2).join('/'))).toEqual(
      expect.arrayContaining([
        'ko-sentence-tiny/config.json',
        'ko-sentence-tiny/tokenizer.json',
        'onnx/model.onnx',
      ]),
    );
    expect(index).toMatchObject({ status: 'ready' });
    expect(index.details).toMatchObject({
      embedder: 'transformer',
      model: 'ko-sentence-tiny',
      dim: tiny.hiddenSize,
    });
  });

  it('answers through the encoder', async () => {
    const res = await request(t.url).post('/chat').send({ message: '안녕하세요' }).expect(200);
    expect(res.body).toMatchObject({ source: 'retrieval', intent: 'greeting', matched: '안녕하세요' });
    expect(res.body.reply).toMatch(/감사합니다[.!]$/);
    const other = await request(t.url)
      .post('/chat')
      .send({ message: '양자역학의 불확정성 원리를 수식으로 증명' })
      .expect(200);
    expect(other.body.source).toBe('fallback');
  });

  it('reloads the corpus with the same encoder', async () => {
    const res = await request(t.url).post('/chat/corpus/reload').expect(200);
    expect(res.body).toMatchObject({ entries: OUR_CORPUS_SIZE, origin: 'loaded' });
  });
});

describe('chat with a transformer encoder that is not installed', () => {
  it('is not ready, and answers 503 saying how to install it', async () => {
    const t = await startChatApp({ CHAT_EMBEDDER: 'transformer', CHAT_ENCODER_MODEL: 'no-such-encoder' });
    try {
      const models = await request(t.url).get('/models').expect(200);
      const encoder = models.body.models.find((m: { name: string }) => m.name === 'chat-encoder');
      expect(encoder).toMatchObject({ status: 'missing', required: true });
      expect(encoder.error).toMatch(/optimum-cli export onnx/);
      const ready = await request(t.url).get('/health/ready').expect(503);
      expect(JSON.stringify(ready.body)).toMatch(/chat-encoder/);
      const res = await request(t.url).post('/chat').send({ message: '안녕하세요' }).expect(503);
      expect(res.body.message).toMatch(
        /^Model "chat-retrieval" \(sentence-similarity\) failed to load: Model "chat-encoder" \(feature-extraction\) is not installed/,
      );
    } finally {
      await t.close();
    }
  });
});
