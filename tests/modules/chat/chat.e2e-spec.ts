import { readFileSync } from 'node:fs';
import request from 'supertest';
import { ChatRetrievalService } from '../../../src/modules/chat/chat-retrieval.service';
import { FALLBACK_REPLIES, OUT_OF_SCOPE_REPLIES } from '../../../src/modules/chat/chat.service';
import {
  OUR_CORPUS,
  OUR_CORPUS_SIZE,
  OUR_INTENT_COUNT,
  OUR_INTENTS,
  parseSse,
  startChatApp,
} from '../../support/chat-fixtures';
import { TestApp } from '../../support/app';

const ENDS_WITH_THANKS = /감사합니다[.!]$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('chat over REST (real app, real FAISS index)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startChatApp({ CHAT_HISTORY_TURNS: '4', CHAT_RATE_LIMIT_IP_PER_MIN: '0' });
  });
  afterAll(() => t.close());

  const chat = (body: unknown) =>
    request(t.url)
      .post('/chat')
      .send(body as object);

  it('answers a greeting from the corpus with the reply payload', async () => {
    const res = await chat({ message: '안녕하세요' }).expect(200);
    expect(res.body).toEqual({
      reply: expect.stringMatching(ENDS_WITH_THANKS),
      sessionId: expect.stringMatching(UUID),
      source: 'retrieval',
      intent: 'greeting',
      score: expect.any(Number),
      matched: '안녕하세요',
      reason: null,
      latencyMs: expect.any(Number),
    });
    expect(res.body.score).toBeGreaterThan(0.99);
  });

  it('reads spacing variants, jamo shorthand and emoticons', async () => {
    const cases: [string, string][] = [
      ['안 녕 하 세 요', 'greeting'],
      ['ㅎㅇㅎㅇ~~', 'greeting'],
      ['ㄱㅅㄱㅅ ^^', 'thanks'],
      ['ㅈㅅ합니다ㅠㅠ', 'apology'],
      ['ㅂㅂ', 'farewell'],
      ['심심ㅎㅐ', 'bored'],
      ['ＨＥＬＰ 도움말 좀', 'help'],
    ];
    for (const [message, intent] of cases) {
      const res = await chat({ message }).expect(200);
      expect({ message, intent: res.body.intent, source: res.body.source }).toEqual({
        message,
        intent,
        source: 'retrieval',
      });
    }
  });

  it('never repeats its previous answer within a session, and keeps the last CHAT_HISTORY_TURNS turns', async () => {
    let sessionId: string | undefined;
    const replies: string[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await chat({ message: '고마워', sessionId }).expect(200);
      sessionId = res.body.sessionId;
      replies.push(res.body.reply);
    }
    for (let i = 1; i < replies.length; i++) expect(replies[i]).not.toBe(replies[i - 1]);
    const history = await request(t.url).get(`/chat/sessions/${sessionId}`).expect(200);
    expect(history.body.sessionId).toBe(sessionId);
    expect(history.body.turns).toHaveLength(4);
    expect(history.body.turns.map((x: { bot: string }) => x.bot)).toEqual(replies.slice(-4));
    expect(history.body.turns[0]).toEqual({
      user: '고마워',
      bot: replies[4],
      source: 'retrieval',
      intent: 'thanks',
      at: expect.any(String),
    });
  });

  it('answers what it does not know with a fallback that says what it can do', async () => {
    const res = await chat({ message: '양자역학의 불확정성 원리를 수식으로 증명해 주세요' }).expect(200);
    // A knowledge request: declined as out of scope (no generator in this suite either way).
    expect(res.body).toMatchObject({ source: 'fallback', intent: null, score: null, matched: null });
    expect([...FALLBACK_REPLIES, ...OUT_OF_SCOPE_REPLIES]).toContain(res.body.reply);
    expect(res.body.reply).toMatch(/MNIST/);
    expect(res.body.reply).toMatch(/모자이크/);
  });

  it('greets, weaving in the name, always ending with 감사합니다, in varied words', async () => {
    const pool = t.app.get(ChatRetrievalService).get().answersOfIntent('greeting');
    expect(pool.length).toBeGreaterThanOrEqual(10);
    for (const variant of pool) expect(variant).toMatch(ENDS_WITH_THANKS);

    const plain = await request(t.url).get('/chat/greeting').expect(200);
    expect(plain.body).toMatchObject({ source: 'retrieval', intent: 'greeting', matched: '안녕하세요' });
    expect(pool).toContain(plain.body.reply);

    const seen = new Set<string>();
    let sessionId: string | undefined;
    for (let i = 0; i < 30; i++) {
      const res = await request(t.url).get('/chat/greeting').query({ name: '민지', sessionId }).expect(200);
      sessionId = res.body.sessionId;
      expect(res.body.reply.startsWith('민지님, ')).toBe(true);
      expect(res.body.reply).toMatch(ENDS_WITH_THANKS);
      expect(pool).toContain(res.body.reply.slice('민지님, '.length));
      seen.add(res.body.reply);
    }
    expect(seen.size).toBeGreaterThanOrEqual(10);

    const honorific = await request(t.url).get('/chat/greeting').query({ name: '김선생님' }).expect(200);
    expect(honorific.body.reply.startsWith('김선생님, ')).toBe(true);
  });

  it('"안녕하세요" always yields a greeting ending in 감사합니다', async () => {
    for (let i = 0; i < 20; i++) {
      const res = await chat({ message: '안녕하세요' }).expect(200);
      expect(res.body.reply).toMatch(ENDS_WITH_THANKS);
    }
  });

  it.each([
    ['too long', 'x'.repeat(41), 'name must be shorter than or equal to 40 characters'],
    ['a control character', 'min\u0007ji', 'name must not contain control characters'],
    ['a newline', 'min\nji', 'name must not contain control characters'],
    ['a bidi override', 'abc\u202Edef', 'name must not contain control characters'],
    ['only spaces', '   ', 'name must not be only whitespace'],
  ])('refuses a greeting name with %s', async (_what, name, message) => {
    const res = await request(t.url).get('/chat/greeting').query({ name }).expect(400);
    expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request', message });
  });

  it('accepts a 40-character name', async () => {
    const name = '가'.repeat(40);
    const res = await request(t.url).get('/chat/greeting').query({ name }).expect(200);
    expect(res.body.reply.startsWith(`${name}님, `)).toBe(true);
  });

  it.each([
    ['a missing message', {}, /^message must be a string$/],
    ['an empty message', { message: '' }, /message should not be empty/],
    ['a whitespace-only message', { message: ' \t\n ' }, /message must not be only whitespace/],
    [
      'a message over 500 characters',
      { message: '가'.repeat(501) },
      /message must be shorter than or equal to 500 characters/,
    ],
    ['a number', { message: 42 }, /message must be a string/],
    ['an array', { message: ['안녕'] }, /message must be a string/],
    ['null', { message: null }, /^message must be a string$/],
    ['an unknown field', { message: '안녕', mood: 'happy' }, /property mood should not exist/],
    ['a malformed session id', { message: '안녕', sessionId: '../../etc' }, /sessionId must be 1 to 64/],
  ])('answers 400 to %s', async (_what, body, message) => {
    const res = await chat(body).expect(400);
    expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    expect(res.body.message).toMatch(message);
    expect(res.body.requestId).toBe(res.headers['x-request-id']);
  });

  it('accepts exactly 500 characters', async () => {
    await chat({ message: '가'.repeat(500) }).expect(200);
  });

  it('answers 400 to a body that is not a JSON object', async () => {
    await request(t.url).post('/chat').set('Content-Type', 'application/json').send('"안녕"').expect(400);
    await request(t.url)
      .post('/chat')
      .set('Content-Type', 'application/json')
      .send('{"message": ')
      .expect(400);
  });

  it('streams a reply as Server-Sent Events: tokens, then done', async () => {
    const res = await request(t.url).post('/chat/stream').send({ message: '안녕하세요' }).expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    const events = parseSse(res.text);
    const tokens = events
      .filter((e) => e.event === 'token')
      .map((e) => e.data as { text: string; index: number });
    const done = events.at(-1)!;
    expect(done.event).toBe('done');
    expect(tokens.length).toBeGreaterThan(2);
    expect(tokens.map((x) => x.index)).toEqual(tokens.map((_, i) => i));
    const reply = done.data as { reply: string; source: string; intent: string };
    expect(tokens.map((x) => x.text).join('')).toBe(reply.reply);
    expect(reply).toMatchObject({ source: 'retrieval', intent: 'greeting' });
    expect(reply.reply).toMatch(ENDS_WITH_THANKS);
  });

  it('answers bad input to the stream with a JSON 400, not an event stream', async () => {
    const res = await request(t.url).post('/chat/stream').send({ message: '   ' }).expect(400);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    expect(res.body.message).toBe('message must not be only whitespace or invisible characters');
  });

  it('shows, forgets and refuses sessions', async () => {
    const first = await chat({ message: '배고파' }).expect(200);
    const id = first.body.sessionId as string;
    const got = await request(t.url).get(`/chat/sessions/${id}`).expect(200);
    expect(got.body.turns).toEqual([expect.objectContaining({ user: '배고파', intent: 'meal' })]);
    await request(t.url).delete(`/chat/sessions/${id}`).expect(204);
    const gone = await request(t.url).get(`/chat/sessions/${id}`).expect(404);
    expect(gone.body).toMatchObject({
      statusCode: 404,
      message: `Session ${id} does not exist or has expired.`,
    });
    await request(t.url).delete(`/chat/sessions/${id}`).expect(404);
    await request(t.url)
      .get(`/chat/sessions/${'x'.repeat(65)}`)
      .expect(400);
  });

  it('continues a session named by the client', async () => {
    await chat({ message: '좋은 아침', sessionId: 'my-session_1' }).expect(200);
    await chat({ message: '잘 자', sessionId: 'my-session_1' }).expect(200);
    const got = await request(t.url).get('/chat/sessions/my-session_1').expect(200);
    expect(got.body.turns.map((x: { intent: string }) => x.intent)).toEqual(['good_morning', 'good_night']);
  });

  it('registers the index as a required model and reports it', async () => {
    // Ready as far as the chat goes (other modules' models are theirs to test).
    const ready = await request(t.url).get('/health/ready');
    expect(JSON.stringify(ready.body)).not.toMatch(/chat-retrieval/);
    const res = await request(t.url).get('/models').expect(200);
    const model = res.body.models.find((m: { name: string }) => m.name === 'chat-retrieval');
    expect(model).toMatchObject({ status: 'ready', required: true, task: 'sentence-similarity' });
    expect(model.details).toMatchObject({
      entries: readFileSync(OUR_CORPUS, 'utf8').trim().split('\n').length,
      intents: OUR_INTENT_COUNT,
      embedder: 'transformer',
      model: 'ko-sentence-encoder',
      dim: 256,
    });
  });

  it('reloads the corpus (same files: the saved index is loaded)', async () => {
    const res = await request(t.url).post('/chat/corpus/reload').expect(200);
    expect(res.body).toMatchObject({
      entries: OUR_CORPUS_SIZE,
      origin: 'loaded',
      files: [{ name: 'ko-smalltalk.jsonl', format: 'jsonl', entries: OUR_CORPUS_SIZE }],
    });
    expect(res.body.intents.greeting).toBe(OUR_INTENTS.greeting);
    await chat({ message: '안녕하세요' }).expect(200);
  });

  it('counts replies by source and times the retrieval', async () => {
    const res = await request(t.url).get('/metrics').expect(200);
    expect(res.text).toMatch(/chat_replies_total\{source="retrieval"\} \d+/);
    expect(res.text).toMatch(/chat_replies_total\{source="fallback"\} \d+/);
    expect(res.text).toMatch(/inference_duration_seconds_count\{model="chat-retrieval"\} \d+/);
  });

  it('documents every chat route in OpenAPI with schemas', async () => {
    const doc = (await request(t.url).get('/docs-json').expect(200)).body;
    for (const p of ['/chat', '/chat/stream', '/chat/greeting', '/chat/sessions/{id}', '/chat/corpus/reload'])
      expect(Object.keys(doc.paths)).toContain(p);
    expect(doc.paths['/chat'].post.requestBody.content['application/json'].schema.$ref).toMatch(
      /ChatRequestDto/,
    );
    expect(doc.paths['/chat'].post.responses['200'].content['application/json'].schema.$ref).toMatch(
      /ChatReplyDto/,
    );
    expect(doc.paths['/chat/stream'].post.responses['200'].content['text/event-stream']).toBeDefined();
    expect(doc.components.schemas.ChatRequestDto.properties.message.maxLength).toBe(500);
  });
});

describe('chat rate limits over REST', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startChatApp({ CHAT_RATE_LIMIT_IP_PER_MIN: '5' });
  });
  afterAll(() => t.close());

  it('answers 429 with Retry-After once an IP is over its limit', async () => {
    for (let i = 0; i < 5; i++) await request(t.url).post('/chat').send({ message: '안녕' }).expect(200);
    const res = await request(t.url).post('/chat').send({ message: '안녕' }).expect(429);
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(res.body).toMatchObject({
      statusCode: 429,
      error: 'Too Many Requests',
      message: expect.stringMatching(/^Too many messages; try again in \d+ s\.$/),
      details: { retryAfterS: expect.any(Number) },
    });
    // Session lookups are not messages: still served.
    await request(t.url).get('/chat/sessions/unknown-session').expect(404);
  });
});
