import { ServiceUnavailableException } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { ChatTurn } from '../chat.types';
import { SessionLimits, SessionStore } from './session-store';

// The time is Redis's own (TIME), so instances with skewed clocks agree on every expiry. Redis 7 replicates
// scripts by their effects, so TIME in a script that writes is allowed.
const NOW = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** KEYS: list, index. ARGV: turn JSON, maxTurns, ttlMs, maxSessions, id, list key prefix. */
const APPEND = `${NOW}
local ttl = tonumber(ARGV[3])
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('ZADD', KEYS[2], now + ttl, ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[4])
if over > 0 then
  local evicted = redis.call('ZPOPMIN', KEYS[2], over)
  for i = 1, #evicted, 2 do redis.call('DEL', ARGV[6] .. evicted[i]) end
end
return 1`;

/** KEYS: list, index. ARGV: ttlMs, id. The turns, with the TTL refreshed when the session exists. */
const GET = `local turns = redis.call('LRANGE', KEYS[1], 0, -1)
if #turns > 0 then
  ${NOW}
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[1]), ARGV[2])
end
return turns`;

/** KEYS: index. Live sessions. */
const SIZE = `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZCARD', KEYS[1])`;

/**
 * Sessions in Redis, shared by every instance and kept across restarts. A session is a list of JSON turns,
 * `<prefix>chat:session:<id>` (RPUSH + LTRIM to CHAT_HISTORY_TURNS), expiring CHAT_SESSION_TTL_S after its
 * last use (PEXPIRE on every read and write).
 *
 * `size()` and CHAT_MAX_SESSIONS use an index, the sorted set `<prefix>chat:sessions` of ids scored by
 * expiry time, kept by the same scripts: a counter cannot see keys that expire on their own, and SCAN walks
 * the whole keyspace (every key of every service sharing the Redis) on each call. The index makes both a
 * ZREMRANGEBYSCORE + ZCARD, and lets the least recently used sessions be evicted beyond CHAT_MAX_SESSIONS as
 * the in-memory store does.
 *
 * Each operation is one script, so it is atomic (the scripts name the session keys they evict through a
 * prefix rather than KEYS, which is fine on one Redis but not on a Redis Cluster).
 */
export class RedisSessionStore implements SessionStore {
  private readonly listPrefix: string;
  private readonly index: string;

  constructor(
    private readonly redis: Redis,
    private readonly limits: SessionLimits,
    prefix: string,
  ) {
    this.listPrefix = `${prefix}chat:session:`;
    this.index = `${prefix}chat:sessions`;
  }

  /** The Redis key of a session's list. */
  key(id: string): string {
    return this.listPrefix + id;
  }

  async get(id: string): Promise<ChatTurn[] | undefined> {
    const raw = (await this.call(() =>
      this.redis.eval(GET, 2, this.key(id), this.index, String(this.limits.ttlMs), id),
    )) as string[];
    return raw.length === 0 ? undefined : raw.map((t) => JSON.parse(t) as ChatTurn);
  }

  async append(id: string, turn: ChatTurn): Promise<void> {
    await this.call(() =>
      this.redis.eval(
        APPEND,
        2,
        this.key(id),
        this.index,
        JSON.stringify(turn),
        String(this.limits.maxTurns),
        String(this.limits.ttlMs),
        String(this.limits.maxSessions),
        id,
        this.listPrefix,
      ),
    );
  }

  async delete(id: string): Promise<boolean> {
    const result = await this.call(() => this.redis.multi().del(this.key(id)).zrem(this.index, id).exec());
    const deleted = result?.[0]?.[1];
    return deleted === 1;
  }

  async size(): Promise<number> {
    return Number(await this.call(() => this.redis.eval(SIZE, 1, this.index)));
  }

  /** Redis errors become a 503 that says so, rather than an anonymous 500. */
  private async call<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      throw new ServiceUnavailableException(
        `Chat sessions are unavailable: Redis did not answer (${(err as Error).message}).`,
      );
    }
  }
}
