import { NestExpressApplication } from '@nestjs/platform-express';
import { Logger } from 'nestjs-pino';
import { HttpExceptionFilter } from './common/errors/http-exception.filter';
import { setupOpenApi } from './common/http/openapi';
import { createValidationPipe } from './common/http/validation';
import { SocketIoAdapter } from './common/ws/socket-io.adapter';
import { AppConfig, appConfig } from './config/app.config';
import { MetricsService } from './modules/metrics/metrics.service';

/**
 * Everything main.ts does to the application before listening, shared with the e2e tests so that they
 * exercise the same pipeline. The app must be created with `bodyParser: false`.
 */
export function configureApp(app: NestExpressApplication): AppConfig {
  const config = app.get<AppConfig>(appConfig.KEY);
  app.useLogger(app.get(Logger));
  app.disable('x-powered-by');
  app.useBodyParser('json', { limit: config.BODY_LIMIT });
  app.useBodyParser('urlencoded', { limit: config.BODY_LIMIT, extended: false });
  const origins = config.CORS_ORIGINS;
  if (origins.length > 0)
    app.enableCors({ origin: origins.includes('*') ? true : origins, credentials: true });
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new HttpExceptionFilter());
  app.useWebSocketAdapter(new SocketIoAdapter(app, config, app.get(MetricsService)));
  setupOpenApi(app);
  return config;
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
