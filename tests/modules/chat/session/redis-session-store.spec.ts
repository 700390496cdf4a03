import { Redis } from 'ioredis';
import { ChatTurn } from '../../../../src/modules/chat/chat.types';
import { RedisSessionStore } from '../../../../src/modules/chat/session/redis-session-store';
import { RedisServer, startRedis } from '../../../support/redis-server';

const turn = (n: number): ChatTurn => ({
  user: `q${n}`,
  bot: `a${n}`,
  source: 'retrieval',
  intent: 'x',
  at: `2025-01-01T00:00:0${n % 10}.000Z`,
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Redis session store (real redis-server)', () => {
  let redis: RedisServer;
  let a: Redis;
  let b: Redis;
  let n = 0;
  /** A store with its own key prefix, so that the cases do not see each other's sessions. */
  const store = (
    conn: Redis,
    limits: Partial<{ maxTurns: number; ttlMs: number; maxSessions: number }> = {},
  ) => new RedisSessionStore(conn, { maxTurns: 3, ttlMs: 60_000, maxSessions: 100, ...limits }, `t${n}:`);

  beforeAll(async () => {
    redis = await startRedis();
    a = new Redis(redis.url);
    b = new Redis(redis.url);
  });
  beforeEach(() => n++);
  afterAll(async () => {
    await Promise.all([a.quit(), b.quit()]);
    await redis.stop();
  });

  it('keeps the last maxTurns turns, oldest first, as a list under the prefix', async () => {
    const s = store(a);
    for (let i = 1; i <= 5; i++) await s.append('s1', turn(i));
    expect(await s.get('s1')).toEqual([turn(3), turn(4), turn(5)]);
    expect(await s.get('unknown')).toBeUndefined();
    expect(redis.cli('TYPE', `t${n}:chat:session:s1`)).toBe('list');
    expect(Number(redis.cli('LLEN', `t${n}:chat:session:s1`))).toBe(3);
  });

  it('is shared: what one connection appends, another reads, deletes and counts', async () => {
    const one = store(a);
    const two = store(b);
    await one.append('shared', turn(1));
    await two.append('shared', turn(2));
    await one.append('other', turn(1));
    expect((await two.get('shared'))!.map((t) => t.user)).toEqual(['q1', 'q2']);
    expect(await two.size()).toBe(2);
    expect(await two.delete('shared')).toBe(true);
    expect(await one.delete('shared')).toBe(false);
    expect(await one.get('shared')).toBeUndefined();
    expect(await one.size()).toBe(1);
  });

  // Wide margins: on a loaded 2-core CI machine a redis-cli call alone has taken >150 ms.
  it('forgets a session idle for its TTL; any use refreshes it', async () => {
    const s = store(a, { ttlMs: 1500 });
    await s.append('kept', turn(1));
    await s.append('idle', turn(1));
    const pttl = Number(redis.cli('PTTL', `t${n}:chat:session:kept`));
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(1500);
    await sleep(400);
    expect(await s.get('kept')).toHaveLength(1); // refreshes kept (1,100 ms of slack)
    await sleep(1150);
    expect(await s.get('idle')).toBeUndefined(); // idle for > 1,550 ms
    expect(await s.get('kept')).toHaveLength(1); // kept idle for ~1,150 ms (350 ms of slack)
    expect(await s.size()).toBe(1);
    await sleep(1600);
    expect(await s.get('kept')).toBeUndefined();
    expect(await s.size()).toBe(0);
    expect(redis.cli('EXISTS', `t${n}:chat:session:kept`)).toBe('0');
  });

  it('evicts the least recently used session beyond maxSessions', async () => {
    const s = store(a, { maxSessions: 2 });
    await s.append('a', turn(1));
    await s.append('b', turn(1));
    await sleep(5);
    await s.get('a'); // a is now more recent than b
    await sleep(5);
    await s.append('c', turn(1));
    expect(await s.get('b')).toBeUndefined();
    expect(await s.get('a')).toHaveLength(1);
    expect(await s.get('c')).toHaveLength(1);
    expect(await s.size()).toBe(2);
  });

  it('answers 503 saying Redis did not answer when it cannot take the command', async () => {
    const dead = new Redis(redis.url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
    });
    const s = store(dead);
    await expect(s.get('x')).rejects.toMatchObject({
      status: 503,
      message: expect.stringMatching(/^Chat sessions are unavailable: Redis did not answer/),
    });
    dead.disconnect();
  });
});
