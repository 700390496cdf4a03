import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { configureApp } from './app.setup';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule, {
    bodyParser: false,
    bufferLogs: true,
    abortOnError: false,
  });
  const config = configureApp(app);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      // Nest closes the HTTP server (in-flight requests finish) and sockets, then releases models;
      // this only bounds how long that may take.
      setTimeout(() => process.exit(0), config.SHUTDOWN_TIMEOUT_MS).unref();
    });
  }
  await app.listen(config.PORT, config.HOST);
  app.get(Logger).log(`listening on http://${config.HOST}:${config.PORT} (docs at /docs)`, 'Bootstrap');
}

bootstrap().catch((err: unknown) => {
  // Start-up errors (bad configuration above all) as one readable message, not a stack dump.
  process.stderr.write(`Start-up failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
