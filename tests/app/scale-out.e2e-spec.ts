import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { io, Socket } from 'socket.io-client';
import request from 'supertest';
import { connectChat, next } from '../support/chat-fixtures';
import { Instance, startInstance } from '../support/instances';
import { Nginx, startNginx } from '../support/nginx';
import { RedisServer, startRedis } from '../support/redis-server';

/**
 * Two instances of the built server sharing one real Redis (REDIS_URL), as replicas behind a balancer:
 * sessions, socket.io rooms (`turn` events), the per-session lock and the per-IP rate limit are shared.
 */

const PREFIX = 'scale:';
const IP_LIMIT = 10;
// A corpus file of our own beside the default one: one intent with exactly two answers, so that a second
// message of a conversation that saw the first one must get the other answer.
const PAIR_Q1 = '동시 전송 시험 하나';
const PAIR_Q2 = '동시 전송 시험 둘';
const PAIR_ANSWERS = ['첫째 시험 답변이에요.', '둘째 시험 답변이에요.'];

interface Turn {
  user: string;
  bot: string;
  source: string;
  at: string;
}
interface TurnEvent {
  sessionId: string;
  role: 'user' | 'bot';
  text: string;
  source?: string;
  at: string;
}

const history = async (instance: Instance, id: string): Promise<Turn[]> =>
  (await request(instance.url).get(`/chat/sessions/${id}`).expect(200)).body.turns as Turn[];

/** Sockets of the /chat namespace an instance holds now, from its /metrics. */
async function chatSockets(instance: Instance): Promise<number> {
  const text = (await request(instance.url).get('/metrics').expect(200)).text;
  return Number(/^ws_connections\{namespace="\/chat"\} (\d+)/m.exec(text)?.[1] ?? 0);
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('several instances sharing Redis (scale-out)', () => {
  let redis: RedisServer;
  let a: Instance;
  let b: Instance;
  let nginx: Nginx | undefined;
  let dir: string;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    dir = mkdtempSync(path.join(tmpdir(), 'ko-ai-scale-'));
    const pairFile = path.join(dir, 'pair.jsonl');
    writeFileSync(
      pairFile,
      [PAIR_Q1, PAIR_Q2]
        .map((q, i) => JSON.stringify({ q, a: PAIR_ANSWERS[i], intent: 'scale-pair' }))
        .join('\n') + '\n',
    );
    const env = (name: string) => ({
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: PREFIX,
      // Replicas share their files (a volume) but each builds its own index.
      UPLOAD_DIR: path.join(dir, 'uploads'),
      OUTPUT_DIR: path.join(dir, 'output'),
      CHAT_INDEX_DIR: path.join(dir, `index-${name}`),
      CHAT_CORPUS_FILES: `ko-smalltalk.jsonl,${pairFile}`,
      // The pair's own questions must answer, not a close question of the first file.
      CHAT_PRIORITY_MARGIN: '0',
      CHAT_RATE_LIMIT_IP_PER_MIN: String(IP_LIMIT),
      // Answers from the corpus only: deterministic, and the instances start faster.
      GENERATOR_MODEL: 'none',
    });
    [a, b] = await Promise.all([startInstance(env('a')), startInstance(env('b'))]);
  }, 60_000);

  // Every case starts with a fresh per-IP budget (all requests come from 127.0.0.1).
  const resetRateLimits = () =>
    redis.cli(
      'EVAL',
      "for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end return 0",
      '0',
      `${PREFIX}chat-ip*`,
    );
  beforeEach(resetRateLimits);

  afterEach(() => {
    for (const s of sockets.splice(0)) s.close();
  });

  afterAll(async () => {
    await nginx?.stop();
    // SIGKILL: Redis may be stopped by the last case, and a graceful stop would wait for it.
    await Promise.all([a?.stop('SIGKILL'), b?.stop('SIGKILL')]);
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('continues on B a conversation of a socket on A, and the socket gets B’s turn events', async () => {
    const { socket, sessionId } = await connectChat(a.url);
    sockets.push(socket);
    const turns: TurnEvent[] = [];
    socket.on('turn', (t: TurnEvent) => turns.push(t));

    const viaB = await request(b.url)
      .post('/chat')
      .send({ message: '좋은 아침이에요', sessionId })
      .expect(200);
    expect(viaB.body).toMatchObject({ sessionId, source: 'retrieval' });

    await waitFor('two turn events on A', async () => (turns.length >= 2 ? true : undefined));
    expect(turns).toEqual([
      { sessionId, role: 'user', text: '좋은 아침이에요', at: expect.any(String) },
      { sessionId, role: 'bot', text: viaB.body.reply, source: 'retrieval', at: turns[0].at },
    ]);
    expect(await history(a, sessionId)).toEqual([
      expect.objectContaining({ user: '좋은 아침이에요', bot: viaB.body.reply, at: turns[0].at }),
    ]);

    // And the other way round: the socket's own message on A is in the history read through B.
    const ack = (await socket.timeout(10_000).emitWithAck('message', { text: '고마워요' })) as {
      reply: string;
    };
    const both = await history(b, sessionId);
    expect(both.map((t) => [t.user, t.bot])).toEqual([
      ['좋은 아침이에요', viaB.body.reply],
      ['고마워요', ack.reply],
    ]);
    // Keys live under the prefix.
    expect(redis.cli('LLEN', `${PREFIX}chat:session:${sessionId}`)).toBe('2');
  });

  it('answers two messages of one session sent at once to A and B one after the other', async () => {
    for (let round = 0; round < 8; round++) {
      resetRateLimits();
      const sessionId = `pair-${round}-${Date.now()}`;
      const [r1, r2] = await Promise.all([
        request(a.url).post('/chat').send({ message: PAIR_Q1, sessionId }),
        request(b.url).post('/chat').send({ message: PAIR_Q2, sessionId }),
      ]);
      expect([r1.status, r2.status]).toEqual([200, 200]);
      expect([r1.body.intent, r2.body.intent]).toEqual(['scale-pair', 'scale-pair']);
      const turns = await history(round % 2 ? a : b, sessionId);
      expect(turns).toHaveLength(2);
      // Each turn holds its own question and answer (q1,a1,q2,a2, never crossed) ...
      const answerOf: Record<string, string> = { [PAIR_Q1]: r1.body.reply, [PAIR_Q2]: r2.body.reply };
      for (const t of turns) expect(t.bot).toBe(answerOf[t.user]);
      // ... and whichever came second saw the first in its history: it avoided the answer just given.
      expect(turns[1].bot).not.toBe(turns[0].bot);
      expect(turns[1].at >= turns[0].at).toBe(true);
    }
    expect(redis.cli('KEYS', `${PREFIX}chat:lock:*`)).toBe('');
  });

  it('counts the per-IP rate limit across instances', async () => {
    const statuses: number[] = [];
    let limited: request.Response | undefined;
    for (let i = 0; i < IP_LIMIT + 2; i++) {
      const res = await request(i % 2 ? b.url : a.url)
        .post('/chat')
        .send({ message: '안녕' });
      statuses.push(res.status);
      if (res.status === 429) limited ??= res;
    }
    // Each instance saw only IP_LIMIT / 2 + 1 requests, yet the (IP_LIMIT + 1)th was refused.
    expect(statuses).toEqual([...Array<number>(IP_LIMIT).fill(200), 429, 429]);
    expect(limited!.headers['retry-after']).toMatch(/^\d+$/);
    expect(limited!.body).toMatchObject({
      statusCode: 429,
      message: expect.stringMatching(/^Too many messages; try again in \d+ s\.$/),
    });
    // One counter in Redis, under the prefix.
    const keys = redis.cli('KEYS', `${PREFIX}chat-ip:*`).split('\n');
    expect(keys).toHaveLength(1);
    expect(Number(redis.cli('GET', keys[0]))).toBe(IP_LIMIT + 2);
  });

  it('keeps a conversation whole when the instance of its socket dies (behind nginx), and across a restart', async () => {
    nginx = await startNginx([a.port, b.port]);
    await waitFor('no /chat sockets left', async () =>
      (await chatSockets(a)) + (await chatSockets(b)) === 0 ? true : undefined,
    );
    const socket = io(`${nginx.url}/chat`, {
      transports: ['websocket'],
      forceNew: true,
      reconnectionDelay: 100,
      reconnectionDelayMax: 300,
    });
    sockets.push(socket);
    const { sessionId } = await next<{ sessionId: string }>(socket, 'session');
    // What a client does (the demo page does the same): resume this session on every reconnection.
    socket.auth = { sessionId };
    const ask = async (text: string) =>
      (await socket.timeout(10_000).emitWithAck('message', { text })) as { reply: string; sessionId: string };
    const said = [await ask('안녕하세요'), await ask('오늘 날씨 어때요')];

    const onA = await waitFor('the socket on one instance', async () => {
      const [na, nb] = [await chatSockets(a), await chatSockets(b)];
      return na + nb === 1 ? na === 1 : undefined;
    });
    const [victim, survivor] = onA ? [a, b] : [b, a];

    const resumed = next<{ sessionId: string }>(socket, 'session', 20_000);
    await victim.stop('SIGKILL');
    expect(await resumed).toEqual({ sessionId });
    expect(await chatSockets(survivor)).toBe(1);

    const before = await history(survivor, sessionId);
    expect(before.map((t) => t.bot)).toEqual(said.map((s) => s.reply));
    const third = await ask('고마워요');
    expect(third.sessionId).toBe(sessionId);
    expect((await history(survivor, sessionId)).map((t) => t.user)).toEqual([
      '안녕하세요',
      '오늘 날씨 어때요',
      '고마워요',
    ]);

    // The dead instance comes back with nothing of its own: the conversation is all in Redis.
    await victim.restart();
    const after = await history(victim, sessionId);
    expect(after.map((t) => t.bot)).toEqual([...said, third].map((s) => s.reply));
    const direct = await connectChat(victim.url, { sessionId });
    sockets.push(direct.socket);
    expect(direct.sessionId).toBe(sessionId);
    const turn = next<TurnEvent>(direct.socket, 'turn');
    await request(survivor.url).post('/chat').send({ message: '잘 자요', sessionId }).expect(200);
    expect(await turn).toMatchObject({ sessionId, role: 'user', text: '잘 자요' });
    expect(await history(victim, sessionId)).toHaveLength(4);
    expect(nginx.errors()).not.toMatch(/\[(emerg|crit)\]/);
  }, 60_000);

  it('reports not ready while Redis is down', async () => {
    await request(b.url).get('/health/ready').expect(200);
    await redis.stop();
    const res = await waitFor('a 503 from /health/ready', async () => {
      const r = await request(b.url).get('/health/ready');
      return r.status === 503 ? r : undefined;
    });
    expect(res.body.details).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'redis', status: 'unreachable' })]),
    );
    expect(res.body.message).toMatch(/Redis \(REDIS_URL\) does not answer/);
  });
});
