import { NestExpressApplication } from '@nestjs/platform-express';
import { Logger } from 'nestjs-pino';
import { HttpExceptionFilter } from './common/errors/http-exception.filter';
import { boundedBodyParser } from './common/http/json-body';
import { setupOpenApi } from './common/http/openapi';
import { StartupQuietLogger } from './common/http/startup-logger';
import { uploadAdmission } from './common/http/upload-admission';
import { createValidationPipe } from './common/http/validation';
import { createAdapter } from '@socket.io/redis-adapter';
import { RoomAdapter, SocketIoAdapter } from './common/ws/socket-io.adapter';
import { AppConfig, appConfig } from './config/app.config';
import { ApiKeys } from './modules/auth/api-keys';
import { MetricsService } from './modules/metrics/metrics.service';
import { OPENAI_ERRORS } from './modules/openai/openai-errors';
import { CustomStrategy } from '@nestjs/microservices';
import { RedisMessageServer, redisTransportOptions } from './common/messages/redis-message-server';
import { RedisConnections } from './modules/redis/redis-connections';

/**
 * Everything main.ts does to the application before listening, shared with the e2e tests so that they
 * exercise the same pipeline. The app must be created with `bodyParser: false` and include RedisModule.
 */
export function configureApp(app: NestExpressApplication): AppConfig {
  const config = app.get<AppConfig>(appConfig.KEY);
  app.useLogger(new StartupQuietLogger(app.get(Logger)));
  app.disable('x-powered-by');
  // req.ip then comes from X-Forwarded-For when the request came through a trusted proxy.
  if (config.TRUST_PROXY.length > 0) app.set('trust proxy', config.TRUST_PROXY);
  app.use(uploadAdmission(config.UPLOADS_INFLIGHT_MAX_BYTES, config.UPLOAD_MAX_BYTES + 1024 * 1024));
  app.use(boundedBodyParser('json', config.BODY_LIMIT));
  app.use(boundedBodyParser('urlencoded', config.BODY_LIMIT));
  // Receiving one request (headers and body) may take this long; then Node answers 408 and closes.
  const server = app.getHttpServer() as import('node:http').Server;
  server.requestTimeout = config.HTTP_REQUEST_TIMEOUT_MS;
  server.headersTimeout = Math.min(server.headersTimeout, config.HTTP_REQUEST_TIMEOUT_MS);
  const origins = config.CORS_ORIGINS;
  if (origins.length > 0)
    app.enableCors({ origin: origins.includes('*') ? true : origins, credentials: true });
  app.useGlobalPipes(createValidationPipe());
  // The /v1 routes speak OpenAI's error shape; everything else the service's own.
  app.useGlobalFilters(new HttpExceptionFilter([OPENAI_ERRORS]));
  const keys = app.get(ApiKeys);
  app.useWebSocketAdapter(
    new SocketIoAdapter(
      app,
      config,
      app.get(MetricsService),
      sharedRooms(app.get(RedisConnections)),
      (token, ip) => keys.check('key', token, ip),
    ),
  );
  setupOpenApi(app);
  return config;
}

/**
 * With REDIS_URL, socket.io rooms and broadcasts span every instance (`@socket.io/redis-adapter`): a publisher
 * and a subscriber connection of their own, channels under `<REDIS_KEY_PREFIX>socket.io#<namespace>#`.
 */
function sharedRooms(redis: RedisConnections): RoomAdapter | undefined {
  if (!redis.enabled) return undefined;
  return createAdapter(redis.create('socket.io-pub'), redis.create('socket.io-sub'), {
    key: `${redis.prefix}socket.io`,
  });
}

/** Counts HTTP requests not yet answered, so that shutdown can wait for them (see main.ts). */
export function trackRequestsInFlight(app: NestExpressApplication): () => number {
  let count = 0;
  app.use((_req: unknown, res: { once(e: 'close', f: () => void): void }, next: () => void) => {
    count++;
    res.once('close', () => count--);
    next();
  });
  return () => count;
}

/**
 * The message transport (a NestJS hybrid application): with REDIS_URL set, the app also answers the message
 * patterns `chat.message`, `mnist.predict` and `faces.detect` (the *.message.controller.ts classes) over NestJS's
 * Redis transport, with the app's global pipes (inheritAppConfig). Each request is answered by one replica
 * only. Call before listen; app.close() stops it once the requests in flight have their replies. Start-up does
 * not wait for Redis. Returns whether the transport was started.
 */
export async function connectMessageTransport(app: NestExpressApplication): Promise<boolean> {
  const redis = app.get(RedisConnections);
  if (!redis.enabled) return false;
  const config = app.get<AppConfig>(appConfig.KEY);
  const server = new RedisMessageServer(redisTransportOptions(redis.url), {
    claim: async (id) =>
      (await redis.client().set(`${redis.prefix}rpc:${id}`, '1', 'PX', 60_000, 'NX')) === 'OK',
    drainTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  });
  app.connectMicroservice<CustomStrategy>({ strategy: server }, { inheritAppConfig: true });
  await app.startAllMicroservices();
  return true;
}
