import * as http from 'node:http';
import request from 'supertest';
import { TestApp } from '../../support/app';
import { connectChat, next, parseSse, ScriptedGenerator, startChatApp } from '../../support/chat-fixtures';

const UNKNOWN = '양자역학의 불확정성 원리를 수식으로 증명해 주세요';

/**
 * The chat policy hands unmatched messages to whatever is bound to CHAT_GENERATOR. The out-of-scope side is
 * off here (CHAT_OUT_OF_SCOPE_FILE=none), so that any unmatched message reaches the generator.
 */
describe('chat → generator seam (real app, scripted generator)', () => {
  let t: TestApp;
  const gen = new ScriptedGenerator();
  beforeAll(async () => {
    t = await startChatApp(
      {
        CHAT_RATE_LIMIT_IP_PER_MIN: '0',
        CHAT_OUT_OF_SCOPE_FILE: 'none',
        // The n-gram embedder: a message unlike the corpus scores under its threshold, so the generator answers.
        CHAT_EMBEDDER: 'hashed-ngram',
        // A gate these scripted candidates are measured against (the calibrated default is -6).
        CHAT_REPLY_GATE: '-5',
      },
      { generator: gen },
    );
  });
  afterAll(() => t.close());
  beforeEach(() => {
    gen.mode = 'reply';
    gen.ready = true;
  });

  it('keeps answering corpus matches itself', async () => {
    const calls = gen.calls.length;
    const res = await request(t.url).post('/chat').send({ message: '안녕하세요' }).expect(200);
    expect(res.body.source).toBe('retrieval');
    expect(gen.calls.length).toBe(calls);
  });

  it('hands an unmatched message to the generator, with the session history', async () => {
    const first = await request(t.url).post('/chat').send({ message: '배고파' }).expect(200);
    const res = await request(t.url)
      .post('/chat')
      .send({ message: UNKNOWN, sessionId: first.body.sessionId })
      .expect(200);
    expect(res.body).toMatchObject({
      reply: gen.text,
      source: 'generation',
      intent: null,
      score: null,
      matched: null,
    });
    const call = gen.calls.at(-1)!;
    expect(call.message).toBe(UNKNOWN);
    expect(call.history).toEqual([
      expect.objectContaining({ user: '배고파', bot: first.body.reply, intent: 'meal' }),
    ]);
    const history = await request(t.url).get(`/chat/sessions/${first.body.sessionId}`).expect(200);
    expect(history.body.turns.at(-1)).toMatchObject({
      user: UNKNOWN,
      bot: gen.text,
      source: 'generation',
      intent: null,
    });
  });

  it('streams generated tokens as they come over SSE', async () => {
    const res = await request(t.url).post('/chat/stream').send({ message: UNKNOWN }).expect(200);
    const events = parseSse(res.text);
    const tokens = events.filter((e) => e.event === 'token').map((e) => (e.data as { text: string }).text);
    expect(tokens).toEqual(gen.text.split(/(?<= )/));
    expect(events.at(-1)).toEqual({
      event: 'done',
      data: expect.objectContaining({ source: 'generation', reply: gen.text }),
    });
  });

  it.each([
    ['busy', 429, 'The text generator is busy; try again shortly.'],
    ['unavailable', 503, 'Model "gpt2-ko" (text-generation) is still loading; try again shortly.'],
  ] as const)('passes the generator being %s through unchanged', async (mode, status, message) => {
    gen.mode = mode;
    const res = await request(t.url).post('/chat').send({ message: UNKNOWN }).expect(status);
    expect(res.body).toMatchObject({ statusCode: status, message });
    // Before any event, the stream answers with the same status and JSON body.
    const sse = await request(t.url).post('/chat/stream').send({ message: UNKNOWN }).expect(status);
    expect(sse.body).toMatchObject({ statusCode: status, message });
    const { socket } = await connectChat(t.url);
    try {
      const error = next(socket, 'error');
      const ack = await socket.timeout(5000).emitWithAck('message', { text: UNKNOWN });
      expect(ack.error).toMatchObject({ statusCode: status, message });
      expect(await error).toMatchObject({ statusCode: status, message });
    } finally {
      socket.disconnect();
    }
  });

  it('falls back politely when the generator is not ready, fails or says nothing', async () => {
    gen.ready = false;
    const calls = gen.calls.length;
    const notReady = await request(t.url).post('/chat').send({ message: UNKNOWN }).expect(200);
    expect(notReady.body.source).toBe('fallback');
    expect(gen.calls.length).toBe(calls);
    gen.ready = true;
    for (const mode of ['crash', 'empty'] as const) {
      gen.mode = mode;
      const res = await request(t.url).post('/chat').send({ message: UNKNOWN }).expect(200);
      expect(res.body.source).toBe('fallback');
    }
  });

  it.each([
    ['an SSE client', '/chat/stream'],
    ['a POST /chat client', '/chat'],
  ])('aborts the generation when %s goes away', async (_who, route) => {
    gen.mode = 'hang';
    const aborted = gen.aborted;
    const started = gen.whenStarted();
    const url = new URL(`${t.url}${route}`);
    const req = http.request({
      host: url.hostname,
      port: url.port,
      path: url.pathname,
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
    });
    req.on('error', () => undefined);
    req.end(JSON.stringify({ message: UNKNOWN }));
    await started;
    req.destroy();
    await waitFor(() => gen.aborted > aborted);
  });

  it('asks for CHAT_REPLY_CANDIDATES replies, sends the best one and streams it once chosen', async () => {
    gen.mode = 'candidates';
    const c = (text: string, logProb: number) => ({
      text,
      pieces: text.split(/(?<= )/),
      logProb,
      scoredTokens: 4,
      finishReason: 'eos',
    });
    gen.candidates = [
      c('좋은 건강', -2),
      c('정말 좋은 생각이네요.', -3),
      c('그래요 그래요 그래요 그래요', -1),
    ];
    const res = await request(t.url).post('/chat/stream').send({ message: UNKNOWN }).expect(200);
    expect(gen.calls.at(-1)!.candidates).toBe(4);
    const events = parseSse(res.text);
    const tokens = events.filter((e) => e.event === 'token').map((e) => (e.data as { text: string }).text);
    expect(tokens).toEqual(['정말 ', '좋은 ', '생각이네요.']);
    expect(events.at(-1)!.data).toMatchObject({
      source: 'generation',
      reply: '정말 좋은 생각이네요.',
      reason: null,
    });
  });

  it('sends the fallback (reason low_quality) when every candidate is under the gate, and streams only it', async () => {
    gen.mode = 'candidates';
    gen.candidates = [
      { text: '좋은 건강', pieces: ['좋은 ', '건강'], logProb: -40, scoredTokens: 4, finishReason: 'eos' },
    ];
    const res = await request(t.url).post('/chat/stream').send({ message: UNKNOWN }).expect(200);
    const events = parseSse(res.text);
    const done = events.at(-1)!.data as { reply: string };
    expect(done).toMatchObject({ source: 'fallback', reason: 'low_quality', intent: null });
    const streamed = events.filter((e) => e.event === 'token').map((e) => (e.data as { text: string }).text);
    expect(streamed.join('')).toBe(done.reply);
    expect(streamed.join('')).not.toContain('건강');
  });

  it('emits generated tokens before the reply over socket.io, and aborts on disconnect', async () => {
    const { socket } = await connectChat(t.url);
    const events: string[] = [];
    socket.on('token', (x: { text: string; index: number }) => events.push(`token:${x.index}:${x.text}`));
    socket.on('reply', () => events.push('reply'));
    const ack = await socket.timeout(5000).emitWithAck('message', { text: UNKNOWN });
    expect(ack).toMatchObject({ source: 'generation', reply: gen.text });
    await waitFor(() => events.includes('reply'));
    expect(events).toEqual([...gen.text.split(/(?<= )/).map((w, i) => `token:${i}:${w}`), 'reply']);

    gen.mode = 'hang';
    const aborted = gen.aborted;
    const started = gen.whenStarted();
    socket.emit('message', { text: UNKNOWN });
    await started;
    socket.disconnect();
    await waitFor(() => gen.aborted > aborted);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** With the out-of-scope anchors (the default), a request that is not small talk never reaches the generator. */
describe('chat policy: out of scope (real app, real corpus and anchors, scripted generator)', () => {
  let t: TestApp;
  const gen = new ScriptedGenerator();
  beforeAll(async () => {
    t = await startChatApp({ CHAT_RATE_LIMIT_IP_PER_MIN: '0' }, { generator: gen });
  });
  afterAll(() => t.close());

  it.each([UNKNOWN, '파이썬으로 퀵소트 구현해줘', '내일 서울 강수확률 몇 퍼센트야?'])(
    'declines %s with reason out_of_scope, naming what the bot can do',
    async (message) => {
      const res = await request(t.url).post('/chat').send({ message }).expect(200);
      expect(res.body).toMatchObject({ source: 'fallback', reason: 'out_of_scope', intent: null });
      expect(res.body.reply).toMatch(/숫자 인식/);
      expect(gen.calls).toEqual([]);
    },
  );

  it('still answers small talk from the corpus', async () => {
    const res = await request(t.url).post('/chat').send({ message: '안녕하세요' }).expect(200);
    expect(res.body).toMatchObject({ source: 'retrieval', intent: 'greeting', reason: null });
    expect(res.body.reply).toMatch(/감사합니다[.!]$/);
  });
});
