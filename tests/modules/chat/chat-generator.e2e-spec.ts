import { rmSync } from 'node:fs';
import * as path from 'node:path';
import request from 'supertest';
import { startApp, TestApp } from '../../support/app';
import { ask, connectChat, parseSse } from '../../support/chat-fixtures';
import { makeTinyGpt2 } from '../../support/generation-fixture';

/**
 * The chat policy handing over to the real text generator (transformers.js in worker threads) with a tiny
 * model made by our own training pipeline: streaming over SSE and socket.io, cancellation, 429.
 */
describe('chat with the real generator', () => {
  let fixture: { modelsDir: string; model: string };
  let t: TestApp;
  // Far from every corpus question, so retrieval is not confident and the generator answers.
  const UNMATCHED = '블록체인 합의 알고리즘의 장단점을 비교해 줄래';
  const SAMPLE = { temperature: 1, top_k: 0, top_p: 1, repetition_penalty: 1, no_repeat_ngram_size: 0 };

  beforeAll(async () => {
    fixture = makeTinyGpt2();
    t = await startApp({
      GENERATOR_MODEL: path.join(fixture.modelsDir, fixture.model),
      GENERATOR_WORKERS: '1',
      GENERATOR_MAX_QUEUE: '0',
      CHAT_RATE_LIMIT_IP_PER_MIN: '0',
      CHAT_RATE_LIMIT_PER_MIN: '0',
      // This suite is about the generator's plumbing (streaming, cancel, 429), not the policy: the message, a
      // knowledge request, reaches the generator with the out-of-scope side off, and the tiny fixture model's
      // replies are sent whatever their score.
      CHAT_OUT_OF_SCOPE_FILE: 'none',
      // The n-gram embedder: a message unlike the corpus scores under its threshold, so the generator answers.
      CHAT_EMBEDDER: 'hashed-ngram',
      CHAT_REPLY_GATE: '-100',
    });
  }, 240_000);

  afterAll(async () => {
    await t?.close();
    if (fixture) rmSync(fixture.modelsDir, { recursive: true, force: true });
  });

  it('lists the generator in /models with its parameters and tokenizer', async () => {
    const res = await request(t.url).get('/models').expect(200);
    const gen = res.body.models.find((m: { task: string }) => m.task === 'text-generation');
    expect(gen).toMatchObject({
      status: 'ready',
      details: { modelType: 'gpt2', tokenizer: expect.any(Object) },
    });
    expect(gen.details.parameters).toBeGreaterThan(1000);
  });

  it('answers an unmatched message with the generator over REST', async () => {
    const res = await request(t.url)
      .post('/chat')
      .send({ message: UNMATCHED, generation: { ...SAMPLE, seed: 1, max_new_tokens: 16 } })
      .expect(200);
    expect(res.body).toMatchObject({ source: 'generation', intent: null, score: null, matched: null });
    expect(res.body.reply.length).toBeGreaterThan(0);
  });

  it('rejects out-of-range generation options with 400', async () => {
    const res = await request(t.url)
      .post('/chat')
      .send({ message: UNMATCHED, generation: { temperature: 5, max_new_tokens: 0 } })
      .expect(400);
    expect(res.body.message).toMatch(/temperature|max_new_tokens/);
  });

  it('streams SSE token events in order that concatenate to the final reply', async () => {
    const res = await request(t.url)
      .post('/chat/stream')
      .send({ message: UNMATCHED, generation: { ...SAMPLE, seed: 3, max_new_tokens: 24 } })
      .expect(200);
    expect(res.headers['content-type']).toContain('text/event-stream');
    const events = parseSse(res.text);
    const tokens = events
      .filter((e) => e.event === 'token')
      .map((e) => e.data as { text: string; index: number });
    const done = events.find((e) => e.event === 'done')?.data as { reply: string; source: string };
    expect(done.source).toBe('generation');
    expect(tokens.length).toBeGreaterThan(0);
    const idx = tokens.map((x) => x.index);
    expect([...idx].sort((a, b) => a - b)).toEqual(idx);
    expect(
      tokens
        .map((x) => x.text)
        .join('')
        .trim(),
    ).toBe(done.reply);
  });

  it('streams socket.io token events before the reply, concatenating to it', async () => {
    const { socket } = await connectChat(t.url);
    try {
      const tokens: string[] = [];
      let replyEvent: { reply: string } | undefined;
      socket.on('token', (m: { text: string }) => tokens.push(m.text));
      socket.on('reply', (m: { reply: string }) => (replyEvent = m));
      const ack = await ask(socket, {
        text: UNMATCHED,
        generation: { ...SAMPLE, seed: 5, max_new_tokens: 24 },
      });
      expect(ack.source).toBe('generation');
      expect(tokens.join('').trim()).toBe(ack.reply);
      expect(replyEvent?.reply).toBe(ack.reply);
    } finally {
      socket.close();
    }
  });

  it('frees the generation slot when the socket disconnects mid-answer', async () => {
    const { socket } = await connectChat(t.url);
    socket.once('token', () => socket.disconnect());
    socket.emit('message', { text: UNMATCHED, generation: { ...SAMPLE, seed: 9, max_new_tokens: 64 } });
    await waitFor(async () =>
      /generation_running\{[^}]*\} 0\b/.test((await request(t.url).get('/metrics')).text),
    );
    const after = await request(t.url)
      .post('/chat')
      .send({ message: UNMATCHED, generation: { ...SAMPLE, max_new_tokens: 4 } })
      .expect(200);
    expect(after.body.source).toBe('generation');
  });

  it('answers 429 with the error shape when the generator is saturated, while health and retrieval keep flowing', async () => {
    const long = { message: UNMATCHED, generation: { ...SAMPLE, max_new_tokens: 64 } };
    const burst = Array.from({ length: 4 }, () => request(t.url).post('/chat').send(long));
    const live = request(t.url).get('/health/live');
    const greeting = request(t.url).post('/chat').send({ message: '안녕하세요' });
    const [results, liveRes, greetingRes] = await Promise.all([Promise.all(burst), live, greeting]);
    const statuses = results.map((r) => r.status);
    expect(statuses).toContain(200);
    expect(statuses).toContain(429);
    const busy = results.find((r) => r.status === 429)!;
    expect(busy.body).toMatchObject({ statusCode: 429, error: 'Too Many Requests' });
    expect(busy.body.message).toMatch(/busy/);
    expect(liveRes.status).toBe(200);
    expect(greetingRes.status).toBe(200);
    expect(greetingRes.body.source).toBe('retrieval');
    expect(greetingRes.body.reply).toMatch(/감사합니다[.!]?$/);
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('condition not met in time');
}
