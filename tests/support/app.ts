import { ModuleMetadata } from '@nestjs/common';
import { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { AppModule } from '../../src/app.module';
import { configureApp } from '../../src/app.setup';
import { ModelRegistry } from '../../src/modules/models/model-registry';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
/** The real datasets beside the project (never copied into it). */
export const SHARED = path.resolve(REPO_ROOT, '..', 'shared', 'datasets');

export interface TestApp {
  app: NestExpressApplication;
  /** e.g. http://127.0.0.1:40123 */
  url: string;
  /** A temporary folder holding this app's uploads and outputs. */
  dataDir: string;
  registry: ModelRegistry;
  close(): Promise<void>;
}

/**
 * Boots the real application (same pipeline as main.ts) on a free loopback port, with uploads and
 * outputs in a fresh temporary folder. `env` overrides configuration for this app only.
 */
export interface StartOptions {
  /** Wait until no model is loading any more (default true). */
  waitForModels?: boolean;
  /** Extra modules beside AppModule. */
  imports?: ModuleMetadata['imports'];
  /** Providers replaced by values, e.g. a port bound to an engine the test chooses. */
  overrides?: { token: string | symbol; value: unknown }[];
}

export async function startApp(env: Record<string, string> = {}, opts: StartOptions = {}): Promise<TestApp> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'ko-ai-test-'));
  const indexDir = mkdtempSync(path.join(tmpdir(), 'ko-ai-index-'));
  const cleanUp = () => {
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(indexDir, { recursive: true, force: true });
  };
  const saved = { ...process.env };
  Object.assign(process.env, {
    LOG_LEVEL: 'silent',
    MODELS_DIR: path.join(REPO_ROOT, 'models'),
    CORPUS_DIR: path.join(REPO_ROOT, 'corpus'),
    MNIST_DIR: path.join(SHARED, 'mnist'),
    UPLOAD_DIR: path.join(dataDir, 'uploads'),
    OUTPUT_DIR: path.join(dataDir, 'output'),
    // The chat index is kept apart, so the data folder holds only what routes wrote.
    CHAT_INDEX_DIR: path.join(indexDir, 'chat-index'),
    ...env,
  });
  try {
    let builder = Test.createTestingModule({ imports: [AppModule, ...(opts.imports ?? [])] });
    for (const o of opts.overrides ?? []) builder = builder.overrideProvider(o.token).useValue(o.value);
    const moduleRef = await builder.compile();
    const app = moduleRef.createNestApplication<NestExpressApplication>({ bodyParser: false });
    configureApp(app);
    await app.listen(0, '127.0.0.1');
    const address = app.getHttpServer().address() as { port: number };
    const registry = app.get(ModelRegistry);
    if (opts.waitForModels !== false) await registry.settled();
    return {
      app,
      url: `http://127.0.0.1:${address.port}`,
      dataDir,
      registry,
      close: async () => {
        await app.close();
        cleanUp();
      },
    };
  } catch (err) {
    cleanUp();
    throw err;
  } finally {
    process.env = saved;
  }
}
