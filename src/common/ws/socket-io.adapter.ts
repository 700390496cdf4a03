import { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import type { Namespace, Server, ServerOptions, Socket } from 'socket.io';
import { AppConfig } from '../../config/app.config';
import { MetricsService } from '../../modules/metrics/metrics.service';
import { RedisConnections } from '../../modules/redis/redis-connections';

/**
 * socket.io with the limits from config, CORS like HTTP, and connection metrics per namespace. Given enabled
 * RedisConnections (REDIS_URL), rooms and broadcasts span every instance through `@socket.io/redis-adapter`
 * (NestJS's RedisIoAdapter pattern): a publisher and a subscriber connection of their own, channels under
 * `<REDIS_KEY_PREFIX>socket.io#<namespace>#`.
 */
export class SocketIoAdapter extends IoAdapter {
  private redisAdapter?: ReturnType<typeof createAdapter>;

  constructor(
    app: INestApplicationContext,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
    redis: RedisConnections,
  ) {
    super(app);
    if (redis.enabled)
      this.redisAdapter = createAdapter(redis.create('socket.io-pub'), redis.create('socket.io-sub'), {
        key: `${redis.prefix}socket.io`,
      });
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    const origins = this.config.CORS_ORIGINS;
    const server = super.createIOServer(port, {
      ...options,
      // Binary image events carry an upload; a little headroom for the envelope.
      maxHttpBufferSize: this.config.UPLOAD_MAX_BYTES + 64 * 1024,
      pingInterval: this.config.WS_PING_INTERVAL_MS,
      pingTimeout: this.config.WS_PING_TIMEOUT_MS,
      cors:
        origins.length === 0
          ? undefined
          : { origin: origins.includes('*') ? true : origins, credentials: true },
    }) as Server;
    if (this.redisAdapter) server.adapter(this.redisAdapter);
    return server;
  }

  override bindClientConnect(server: Namespace, callback: (socket: Socket) => void): void {
    server.on('connection', (socket: Socket) => {
      // Several gateways may share a namespace; count each socket once.
      const data = socket.data as { counted?: boolean };
      if (!data.counted) {
        data.counted = true;
        const namespace = server.name;
        this.metrics.wsConnections.inc({ namespace });
        socket.onAny((event: string) => this.metrics.wsMessages.inc({ namespace, event }));
        socket.once('disconnect', () => this.metrics.wsConnections.dec({ namespace }));
      }
      callback(socket);
    });
  }
}
