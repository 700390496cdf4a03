import { Logger } from '@nestjs/common';
import { RedisContext, RedisOptions, ServerRedis } from '@nestjs/microservices';
import type { Redis } from 'ioredis';

export type RedisTransportOptions = NonNullable<RedisOptions['options']>;

/**
 * NestJS Redis transport options (host, port, username, password, db, TLS) from a redis:// or rediss:// URL,
 * for the server here and for clients (`ClientProxyFactory.create({ transport: Transport.REDIS, options })`).
 */
export function redisTransportOptions(url: string): RedisTransportOptions {
  const u = new URL(url);
  const db = u.pathname.replace(/^\//, '');
  return {
    host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(db && /^\d+$/.test(db) ? { db: Number(db) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

export interface RedisMessageServerOptions {
  /**
   * Takes a request for this instance; false when another instance already has it. Redis pub/sub hands every
   * request to every subscribed replica, so without this each one would answer (and a chat turn would be
   * recorded twice). A failing claim (Redis trouble) counts as taken, so a request is never lost for it.
   */
  claim?: (id: string) => Promise<boolean>;
  /** How long close() waits for requests in flight to publish their replies. */
  drainTimeoutMs?: number;
}

/** The packet id of a raw request, or undefined for an event or anything unparsable. */
function packetId(raw: string): string | undefined {
  try {
    const id = (JSON.parse(raw) as { id?: unknown } | null)?.id;
    return typeof id === 'string' && id.length > 0 && id.length <= 128 ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * NestJS's Redis transport server with what a replicated service needs:
 *  - one instance answers each request (see `claim`), however many replicas subscribe;
 *  - start-up does not wait for Redis: the HTTP server starts, subscriptions wait in ioredis's offline queue
 *    and are made (and remade after a reconnection) when Redis answers; reconnection never gives up;
 *  - requests without an id (events, junk on the channel) are ignored, and no failure on the message path can
 *    become an unhandled rejection: a bad message never takes the process down;
 *  - close() stops taking requests, lets those in flight publish their replies (bounded), then disconnects.
 */
export class RedisMessageServer extends ServerRedis {
  private readonly log = new Logger('MessageTransport');
  private readonly inFlight = new Set<string>();
  private closing = false;
  private errorReported = false;

  constructor(
    options: RedisTransportOptions,
    private readonly extras: RedisMessageServerOptions = {},
  ) {
    super({
      retryAttempts: Number.MAX_SAFE_INTEGER,
      retryDelay: 1000,
      // Subscriptions and replies wait for a reconnection instead of failing after 20 attempts.
      maxRetriesPerRequest: null,
      ...options,
    });
  }

  /** Requests being handled now. */
  get pending(): number {
    return this.inFlight.size;
  }

  override start(callback?: () => void): void {
    const connecting = [this.subClient, this.pubClient].map((c: Redis) =>
      c.connect().catch((err: Error) => this.reportError(err)),
    );
    void Promise.all(connecting);
    this.bindEvents(this.subClient, this.pubClient);
    callback?.();
  }

  override bindEvents(subClient: Redis, pubClient: Redis): void {
    subClient.on('message', (channel: string, buffer: string) =>
      this.handleMessage(channel, buffer, pubClient, channel),
    );
    for (const [pattern, handler] of this.messageHandlers) {
      const channel = handler.isEventHandler ? pattern : this.getRequestPattern(pattern);
      subClient.subscribe(channel).catch((err: Error) => this.reportError(err));
    }
  }

  override async handleMessage(channel: string, buffer: string, pub: Redis, pattern: string): Promise<void> {
    if (this.closing) return;
    const id = packetId(buffer);
    if (id === undefined) return;
    try {
      if (this.extras.claim && !(await this.extras.claim(id).catch(() => true))) return;
      this.inFlight.add(id);
      await super.handleMessage(channel, buffer, pub, pattern);
    } catch (err) {
      this.inFlight.delete(id);
      this.log.error({ err, channel }, 'message handling failed');
    }
  }

  override getPublisher(
    pub: Redis,
    pattern: string,
    id: string,
    ctx: RedisContext,
  ): (response: unknown) => unknown {
    const publish = super.getPublisher(pub, pattern, id, ctx);
    return (response: unknown) => {
      const r = response as { isDisposed?: boolean; err?: unknown };
      const sent = Promise.resolve()
        .then(() => publish(response))
        .catch((err: unknown) => this.log.warn({ err, channel: pattern }, 'could not publish a reply'));
      if (r.isDisposed || r.err !== undefined) this.inFlight.delete(id);
      return sent;
    };
  }

  override registerErrorListener(client: Redis): void {
    client.on('error', (err: Error) => this.reportError(err));
    client.on('ready', () => (this.errorReported = false));
  }

  override async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.isManuallyClosed = true;
    const sub = this.subClient as Redis | undefined;
    const pub = this.pubClient as Redis | undefined;
    if (sub?.status === 'ready') await sub.unsubscribe().catch(() => undefined);
    const deadline = Date.now() + (this.extras.drainTimeoutMs ?? 10_000);
    while (this.inFlight.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await Promise.all(
      [pub, sub].map(async (c) => {
        if (!c) return;
        if (c.status === 'ready') await c.quit().catch(() => c.disconnect());
        else c.disconnect();
      }),
    );
    this.pendingEventListeners = [];
  }

  private reportError(err: Error): void {
    if (this.isManuallyClosed || this.errorReported) return;
    this.errorReported = true;
    this.log.warn(`Redis: ${err.message}; message transport reconnecting`);
  }
}
