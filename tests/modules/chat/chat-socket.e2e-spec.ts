import request from 'supertest';
import { TestApp } from '../../support/app';
import { ask, connectChat, next, startChatApp } from '../../support/chat-fixtures';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('chat over socket.io (real app, real socket.io-client)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startChatApp({ CHAT_RATE_LIMIT_IP_PER_MIN: '0' });
  });
  afterAll(() => t.close());

  it('gives each connection a session, answers in the acknowledgement and a reply event', async () => {
    const { socket, sessionId } = await connectChat(t.url);
    try {
      expect(sessionId).toMatch(UUID);
      const reply = next(socket, 'reply');
      const ack = await ask(socket, { text: '안녕하세요' });
      expect(ack).toEqual({
        reply: expect.stringMatching(/감사합니다[.!]$/),
        sessionId,
        source: 'retrieval',
        intent: 'greeting',
        score: expect.any(Number),
        matched: '안녕하세요',
        reason: null,
        latencyMs: expect.any(Number),
      });
      expect(await reply).toEqual(ack);
    } finally {
      socket.disconnect();
    }
  });

  it.each([
    ['an empty object', {}, 'text must be a string'],
    ['a bare string', '안녕하세요', undefined],
    ['an empty text', { text: '' }, 'text should not be empty'],
    ['whitespace only', { text: '   ' }, 'text must not be only whitespace or invisible characters'],
    [
      'zero-width characters only',
      { text: '\u200b\u200c\u200d\ufeff' },
      'text must not be only whitespace or invisible characters',
    ],
    ['501 characters', { text: '가'.repeat(501) }, 'text must be shorter than or equal to 500 characters'],
    ['a number', { text: 7 }, 'text must be a string'],
    ['an unknown field', { text: '안녕', extra: true }, 'property extra should not exist'],
    [
      'a malformed session id',
      { text: '안녕', sessionId: 'a b' },
      'sessionId must be 1 to 64 letters, digits, "-" or "_"',
    ],
  ])('answers %s with an error event and stays usable', async (_what, payload, message) => {
    const { socket } = await connectChat(t.url);
    try {
      const error = next(socket, 'error');
      const ack = await ask(socket, payload);
      const body = await error;
      expect(body).toMatchObject({ statusCode: 400, error: 'Bad Request', code: 'bad_request' });
      if (message) expect(body.message).toBe(message);
      expect(ack).toEqual({ error: body });
      expect(socket.connected).toBe(true);
      const ok = await ask(socket, { text: '고마워요' });
      expect(ok).toMatchObject({ source: 'retrieval', intent: 'thanks' });
    } finally {
      socket.disconnect();
    }
  });

  it('answers chat.message (the name the message transport uses too) and its first name, message, alike', async () => {
    const { socket } = await connectChat(t.url);
    try {
      const named = await new Promise<Record<string, unknown>>((resolve) =>
        socket.emit('chat.message', { text: '안녕하세요' }, resolve),
      );
      const old = await ask(socket, { text: '안녕하세요' });
      expect(named).toMatchObject({ source: 'retrieval', intent: 'greeting' });
      expect(old).toMatchObject({ source: 'retrieval', intent: 'greeting', sessionId: named.sessionId });
    } finally {
      socket.disconnect();
    }
  });

  it('resumes a session on reconnect (auth or query) and keeps its history', async () => {
    const a = await connectChat(t.url);
    const first = await ask(a.socket, { text: '좋은 아침이에요' });
    a.socket.disconnect();

    const b = await connectChat(t.url, { sessionId: a.sessionId });
    expect(b.sessionId).toBe(a.sessionId);
    const second = await ask(b.socket, { text: '좋은 아침이에요' });
    expect(second.sessionId).toBe(a.sessionId);
    expect(second.reply).not.toBe(first.reply);
    b.socket.disconnect();

    const { io } = await import('socket.io-client');
    const c = io(`${t.url}/chat`, {
      transports: ['websocket'],
      query: { sessionId: a.sessionId },
      forceNew: true,
      reconnection: false,
    });
    try {
      expect(await next(c, 'session')).toEqual({ sessionId: a.sessionId });
    } finally {
      c.disconnect();
    }

    const history = await request(t.url).get(`/chat/sessions/${a.sessionId}`).expect(200);
    expect(history.body.turns.map((x: { bot: string }) => x.bot)).toEqual([first.reply, second.reply]);
  });

  it('gives a new session for a malformed one in the handshake', async () => {
    const { socket, sessionId } = await connectChat(t.url, { sessionId: '<script>' });
    socket.disconnect();
    expect(sessionId).toMatch(UUID);
  });

  it('lets a message name another session', async () => {
    const { socket, sessionId } = await connectChat(t.url);
    try {
      const ack = await ask(socket, { text: '배고파', sessionId: 'other-session' });
      expect(ack.sessionId).toBe('other-session');
      expect(sessionId).not.toBe('other-session');
      await request(t.url).get('/chat/sessions/other-session').expect(200);
    } finally {
      socket.disconnect();
    }
  });
});

describe('chat socket.io rate limits', () => {
  let t: TestApp;
  beforeAll(async () => {
    // A window wide enough that the per-socket rate limit, not the in-flight window, is what refuses here.
    t = await startChatApp({
      CHAT_RATE_LIMIT_PER_MIN: '5',
      CHAT_RATE_LIMIT_IP_PER_MIN: '40',
      WS_MAX_INFLIGHT: '32',
    });
  });
  afterAll(() => t.close());

  it('limits a flooding socket without affecting another client', async () => {
    const flooder = await connectChat(t.url);
    const other = await connectChat(t.url);
    try {
      const errors: Record<string, unknown>[] = [];
      flooder.socket.on('error', (e: Record<string, unknown>) => errors.push(e));
      const acks = await Promise.all(Array.from({ length: 20 }, () => ask(flooder.socket, { text: '안녕' })));
      const answered = acks.filter((a) => a.source === 'retrieval');
      const limited = acks.filter(
        (a) => (a.error as { code?: string } | undefined)?.code === 'too_many_requests',
      );
      expect(answered).toHaveLength(5);
      expect(limited).toHaveLength(15);
      expect(limited[0].error).toMatchObject({
        statusCode: 429,
        error: 'Too Many Requests',
        message: expect.stringMatching(/^Too many messages; try again in \d+ s\.$/),
        details: { retryAfterS: expect.any(Number) },
      });
      expect(errors).toHaveLength(15);
      expect(flooder.socket.connected).toBe(true);

      for (let i = 0; i < 3; i++)
        expect(await ask(other.socket, { text: '고마워' })).toMatchObject({ source: 'retrieval' });
      // The same IP over HTTP still has budget: the flooder's refused messages did not spend it.
      await request(t.url).post('/chat').send({ message: '안녕' }).expect(200);
    } finally {
      flooder.socket.disconnect();
      other.socket.disconnect();
    }
  });
});
