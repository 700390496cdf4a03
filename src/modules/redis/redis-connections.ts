import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Redis, RedisOptions } from 'ioredis';
import { RedisConfig, redisConfig } from './redis.config';

/**
 * The Redis connections of this instance, when REDIS_URL is set. Commands share one connection; a
 * subscriber or a blocking consumer (socket.io adapter, BullMQ worker) needs its own, from `create()`.
 * All of them are closed at shutdown, after the modules using them.
 */
@Injectable()
export class RedisConnections implements OnApplicationShutdown {
  private readonly logger = new Logger(RedisConnections.name);
  private readonly opened: Redis[] = [];
  private shared?: Redis;

  constructor(@Inject(redisConfig.KEY) private readonly config: RedisConfig) {}

  /** True when the instance shares its state through Redis. */
  get enabled(): boolean {
    return this.config.REDIS_URL !== undefined;
  }

  get url(): string {
    if (!this.config.REDIS_URL) throw new Error('REDIS_URL is not set');
    return this.config.REDIS_URL;
  }

  /** Prefix for every key, channel and queue name. */
  get prefix(): string {
    return this.config.REDIS_KEY_PREFIX;
  }

  /** The shared command connection. */
  client(): Redis {
    this.shared ??= this.create('commands');
    return this.shared;
  }

  /**
   * A new connection of its own, closed at shutdown. `options` for engines with requirements of their
   * own (BullMQ workers need `maxRetriesPerRequest: null`).
   */
  create(name: string, options: RedisOptions = {}): Redis {
    const connection = new Redis(this.url, {
      connectionName: `ko-ai:${name}`,
      // A request must not hang for ioredis's default 20 reconnection attempts (~10 s) while Redis is
      // away: after two, its command fails and the caller answers 503 (or falls back, for rate limits).
      maxRetriesPerRequest: 2,
      connectTimeout: 2000,
      ...options,
    });
    // ioredis reconnects by itself; a lost Redis is logged, not an unhandled 'error' event.
    let reported = false;
    connection.on('error', (err: Error) => {
      if (!reported) this.logger.warn(`Redis (${name}): ${err.message}; reconnecting`);
      reported = true;
    });
    connection.on('ready', () => (reported = false));
    this.opened.push(connection);
    return connection;
  }

  /**
   * Whether Redis answers PING within `timeoutMs` (true without REDIS_URL); for readiness. False at once
   * while the connection is lost, where a command would only wait in ioredis's offline queue.
   */
  async ping(timeoutMs = 1000): Promise<boolean> {
    if (!this.enabled) return true;
    const client = this.client();
    if (['reconnecting', 'close', 'end'].includes(client.status)) return false;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs)));
    try {
      return await Promise.race([client.ping().then((r) => r === 'PONG'), timeout]);
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.opened.splice(0).map((c) => c.quit().catch(() => c.disconnect())));
  }
}
