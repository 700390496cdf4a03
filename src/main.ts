import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import type { Server } from 'node:http';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { configureApp, connectMessageTransport, trackRequestsInFlight } from './app.setup';
import { readyBanner } from './banner';
import { ModelRegistry } from './modules/models/model-registry';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule, {
    bodyParser: false,
    bufferLogs: true,
    abortOnError: false,
  });
  const config = configureApp(app);
  const inFlight = trackRequestsInFlight(app);
  // With REDIS_URL: also answer NestJS messages over Redis (closed by app.close() below).
  await connectMessageTransport(app);
  const logger = app.get(Logger);

  // The order is ours rather than Nest's shutdown hooks (which end the process by re-raising the signal):
  // stop accepting, let the requests in flight finish, then close sockets and release models and worker
  // pools, and exit 0. SHUTDOWN_TIMEOUT_MS bounds it all.
  let stopping = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal}: finishing ${inFlight()} request(s) in flight, then stopping`, 'Bootstrap');
    setTimeout(() => process.exit(0), config.SHUTDOWN_TIMEOUT_MS).unref();
    (app.getHttpServer() as Server).close();
    while (inFlight() > 0) await new Promise((r) => setTimeout(r, 20));
    await app.close();
    process.exit(0);
  };
  process.once('SIGTERM', (s) => void shutdown(s));
  process.once('SIGINT', (s) => void shutdown(s));

  await app.listen(config.PORT, config.HOST);
  const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? 'localhost' : config.HOST;
  logger.log(`listening on http://${config.HOST}:${config.PORT}; models loading`, 'Bootstrap');
  // Once every model has loaded (or is known to be missing): one banner with the URLs and the models.
  const registry = app.get(ModelRegistry);
  void registry
    .settled()
    .then(() => registry.report())
    .then((models) => logger.log(readyBanner(`http://${host}:${config.PORT}`, models), 'Bootstrap'));
}

bootstrap().catch((err: unknown) => {
  // Start-up errors (bad configuration above all) as one readable message, not a stack dump.
  process.stderr.write(`Start-up failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
