/** What the benchmarks share: the service's core modules, and serving a bench module like main.ts does. */
import { ModuleMetadata, Type } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { ChildProcess, fork } from 'node:child_process';
import { LoggerModule } from 'nestjs-pino';
import { configureApp } from '../src/app.setup';
import { CommonModule } from '../src/common/common.module';
import { AuthModule } from '../src/modules/auth/auth.module';
import { loggerParams } from '../src/common/http/logging';
import { AppConfig, appConfig } from '../src/config/app.config';
import { MetricsModule } from '../src/modules/metrics/metrics.module';
import { ModelRegistry } from '../src/modules/models/model-registry';
import { RedisModule } from '../src/modules/redis/redis.module';
import { ModelsModule } from '../src/modules/models/models.module';

/** Config, logs, metrics and the model registry: a bench module adds only the capability it measures. */
export function coreModules(): NonNullable<ModuleMetadata['imports']> {
  return [
    ConfigModule.forRoot({ isGlobal: true, cache: false, load: [appConfig] }),
    LoggerModule.forRootAsync({ inject: [appConfig.KEY], useFactory: (c: AppConfig) => loggerParams(c) }),
    CommonModule,
    // configureApp() asks for the API keys (off unless API_KEYS is set).
    AuthModule,
    MetricsModule,
    ModelsModule,
    // Unused without REDIS_URL, but configureApp() asks for it.
    RedisModule,
  ];
}

/** Serves `module` through the same pipeline as main.ts on a free loopback port, its models loaded. */
export async function listen(module: Type<unknown>): Promise<{ app: NestExpressApplication; url: string }> {
  const app = await NestFactory.create<NestExpressApplication>(module, { bodyParser: false, logger: false });
  configureApp(app);
  await app.listen(0, '127.0.0.1');
  await app.get(ModelRegistry).settled();
  const { port } = app.getHttpServer().address() as { port: number };
  return { app, url: `http://127.0.0.1:${port}` };
}

/** Child side of forkServer(): serve and tell the parent the port. */
export async function serveForParent(module: Type<unknown>): Promise<void> {
  const { url } = await listen(module);
  process.send?.({ url });
}

/**
 * Runs `file` again in a child process with `--serve`, so that the load generator and the server do not
 * share one event loop; resolves with the child's URL.
 */
export function forkServer(
  file: string,
  env: Record<string, string>,
): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(file, ['--serve'], {
    env: { ...process.env, ...env },
    execArgv: ['-r', 'ts-node/register/transpile-only'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (m: { url: string }) => resolve({ child, url: m.url }));
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
  });
}
