import { ChatRateLimiter } from '../../../src/modules/chat/chat-rate-limiter';
import { ChatConfig } from '../../../src/modules/chat/chat.config';
import { RedisConnections } from '../../../src/modules/redis/redis-connections';
import { RedisConfig } from '../../../src/modules/redis/redis.config';
import { RedisServer, startRedis } from '../../support/redis-server';

const config = { CHAT_RATE_LIMIT_PER_MIN: 0, CHAT_RATE_LIMIT_IP_PER_MIN: 4 } as ChatConfig;

/** How many of `count` messages from `ip` the limiters (round robin) let through. */
async function allowed(limiters: ChatRateLimiter[], ip: string, count: number): Promise<number> {
  let ok = 0;
  for (let i = 0; i < count; i++) {
    try {
      await limiters[i % limiters.length].consume(ip);
      ok++;
    } catch (err) {
      expect(err).toMatchObject({ status: 429 });
    }
  }
  return ok;
}

describe('chat rate limiter with Redis (real redis-server)', () => {
  let redis: RedisServer;
  const connections: RedisConnections[] = [];
  /** A limiter as one instance has it, once its connection is up (before, it counts on its own). */
  const instance = async () => {
    const c = new RedisConnections({ REDIS_URL: redis.url, REDIS_KEY_PREFIX: 'rl:' } as RedisConfig);
    connections.push(c);
    await c.client().ping();
    return new ChatRateLimiter(config, c);
  };

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await Promise.all(connections.map((c) => c.onApplicationShutdown()));
    await redis.stop();
  });

  it('counts one per-IP budget for every instance, under the prefix', async () => {
    const [a, b] = await Promise.all([instance(), instance()]);
    expect(await allowed([a, b], '10.0.0.1', 10)).toBe(4);
    expect(redis.cli('GET', 'rl:chat-ip:10.0.0.1')).toBe('10');
  });

  it('falls back quickly to per-instance limits while Redis is down', async () => {
    const [a, b] = await Promise.all([instance(), instance()]);
    expect(await allowed([a, b], '10.0.0.2', 2)).toBe(2);
    await redis.stop();
    const started = Date.now();
    // Each instance now counts on its own: 4 each, never an error other than 429.
    expect(await allowed([a], '10.0.0.3', 6)).toBe(4);
    expect(await allowed([b], '10.0.0.3', 6)).toBe(4);
    expect(Date.now() - started).toBeLessThan(2000); // at most one command was caught in flight (500 ms)
  });
});
