import OpenAI from 'openai';
import { io } from 'socket.io-client';
import request from 'supertest';
import { startApp, TestApp } from '../../support/app';
import { ask, connectChat } from '../../support/chat-fixtures';

const USER = 'user-key-0123456789abcdef';
const ADMIN = 'admin-key-0123456789abcdef';
const EXPIRED = 'old-key-0123456789abcdef';
const bearer = (k: string) => ({ Authorization: `Bearer ${k}` });

/** The service with API keys on: every class of route, the OpenAPI document walked, socket.io handshakes. */
describe('API keys', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startApp({
      API_KEYS: `${USER},${EXPIRED}@2020-01-01T00:00:00Z`,
      ADMIN_API_KEYS: ADMIN,
      AUTH_FAILURES_PER_MIN: '10000',
      CHAT_EMBEDDER: 'hashed-ngram',
      CHAT_RATE_LIMIT_IP_PER_MIN: '0',
    });
  }, 240_000);

  afterAll(async () => {
    await t?.close();
  });

  it('keeps health, the docs and the demo page open', async () => {
    await request(t.url).get('/health/live').expect(200);
    await request(t.url).get('/health/ready').expect(200);
    await request(t.url).get('/docs-json').expect(200);
    await request(t.url).get('/docs/').expect(200);
    await request(t.url).get('/').expect(200);
    await request(t.url).get('/js/api.js').expect(200);
  });

  it('answers 401 with WWW-Authenticate on every documented non-public route without a key', async () => {
    const doc = (await request(t.url).get('/docs-json').expect(200)).body as {
      paths: Record<string, Record<string, unknown>>;
    };
    const walked: string[] = [];
    for (const [route, methods] of Object.entries(doc.paths)) {
      if (route.startsWith('/health/')) continue;
      const url = route.replace(/\{[^}]+\}/g, '3f2b8c1e-6d4a-4b7e-9c2d-1a2b3c4d5e6f');
      for (const method of Object.keys(methods)) {
        const res = await request(t.url)[method as 'get'](url);
        expect({ route: `${method.toUpperCase()} ${route}`, status: res.status }).toEqual({
          route: `${method.toUpperCase()} ${route}`,
          status: 401,
        });
        expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
        walked.push(`${method} ${route}`);
      }
    }
    // The walk covered the seed routes, the chat, uploads, jobs and the OpenAI API.
    for (const r of [
      'get /mnist-sample',
      'post /upload',
      'get /mosaic',
      'post /chat',
      'post /v1/chat/completions',
    ])
      expect(walked).toContain(r);
    expect(walked.length).toBeGreaterThan(25);
  });

  it('tells a missing, a wrong and an expired key apart, in the service error shape', async () => {
    const none = await request(t.url).get('/chat/greeting').expect(401);
    expect(none.body).toMatchObject({
      statusCode: 401,
      error: 'Unauthorized',
      message: /API key is required/,
    });
    const wrong = await request(t.url)
      .get('/chat/greeting')
      .set(bearer('not-a-key-0123456789abcdef'))
      .expect(401);
    expect(wrong.body.message).toMatch(/not valid/);
    const expired = await request(t.url).get('/chat/greeting').set('X-API-Key', EXPIRED).expect(401);
    expect(expired.body.message).toMatch(/expired/);
  });

  it('opens the API to a key, by either header; state-changing routes need an admin key', async () => {
    const greeting = await request(t.url).get('/chat/greeting').set(bearer(USER)).expect(200);
    expect(greeting.body.reply).toMatch(/감사합니다/);
    await request(t.url).get('/mnist-sample').set('X-API-Key', USER).expect(200);
    const refused = await request(t.url).post('/chat/corpus/reload').set(bearer(USER)).expect(403);
    expect(refused.body.message).toMatch(/admin key/);
    await request(t.url).post('/chat/corpus/reload').set(bearer(ADMIN)).expect(200);
    const id = '3f2b8c1e-6d4a-4b7e-9c2d-1a2b3c4d5e6f';
    await request(t.url).delete(`/uploads/${id}`).set(bearer(USER)).expect(403);
    await request(t.url).delete(`/uploads/${id}`).set(bearer(ADMIN)).expect(404);
    // An admin key opens every other route too.
    await request(t.url).get('/chat/greeting').set(bearer(ADMIN)).expect(200);
  });

  it('checks socket.io handshakes on every namespace: auth.token opens them', async () => {
    for (const ns of ['/chat', '/vision', '/jobs']) {
      const refused = io(`${t.url}${ns}`, { transports: ['websocket'], reconnection: false, forceNew: true });
      const err = await new Promise<Error & { data?: { statusCode: number; message: string } }>((resolve) =>
        refused.once('connect_error', resolve),
      );
      refused.close();
      expect({ ns, status: err.data?.statusCode }).toEqual({ ns, status: 401 });
      expect(err.message).toMatch(/API key is required/);
    }
    const bad = io(`${t.url}/chat`, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      auth: { token: EXPIRED },
    });
    const expired = await new Promise<Error>((resolve) => bad.once('connect_error', resolve));
    bad.close();
    expect(expired.message).toMatch(/expired/);
    const { socket } = await connectChat(t.url, { token: USER });
    try {
      const reply = await ask(socket, { text: '안녕하세요' });
      expect(reply.reply).toMatch(/감사합니다/);
    } finally {
      socket.close();
    }
  });

  it('works with the openai client, whose apiKey is the bearer token', async () => {
    const ok = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: USER, maxRetries: 0 });
    const res = await ok.chat.completions.create({
      model: 'ko-chat',
      messages: [{ role: 'user', content: '안녕하세요' }],
    });
    expect(res.choices[0].message.content).toMatch(/감사합니다/);
    const bad = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: 'not-a-key-0123456789abcdef', maxRetries: 0 });
    const err = await bad.models.list().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((err as InstanceType<typeof OpenAI.AuthenticationError>).code).toBe('invalid_api_key');
  });
});
