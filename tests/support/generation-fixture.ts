import { INestApplication } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { Test } from '@nestjs/testing';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { appConfig } from '../../src/config/app.config';
import { GenerationModule } from '../../src/modules/generation/generation.module';
import { MetricsModule } from '../../src/modules/metrics/metrics.module';
import { ModelRegistry } from '../../src/modules/models/model-registry';
import { ModelsModule } from '../../src/modules/models/models.module';
import { REPO_ROOT } from './app';

export const PYTHON = '/usr/bin/python3';

/**
 * A tiny GPT-2 style model made by our own training pipeline (a few steps on a slice of the data),
 * exported in the same layout as the committed model: the loader is tested without depending on it.
 * Returns { modelsDir, model } so that MODELS_DIR/model is the folder.
 */
export function makeTinyGpt2(steps = 3): { modelsDir: string; model: string } {
  const modelsDir = mkdtempSync(path.join(tmpdir(), 'gpt2-fixture-'));
  const out = path.join(modelsDir, 'tiny-gpt2');
  execFileSync(
    PYTHON,
    [
      path.join(REPO_ROOT, 'training/gpt2/train.py'),
      '--limit',
      '200',
      '--max-steps',
      String(steps),
      // No pre-training: a few steps on packed text, full of </s>, would make the fixture end every reply at once.
      '--pretrain-minutes',
      '0',
      '--out-dir',
      out,
    ],
    { stdio: 'pipe', timeout: 180_000 },
  );
  if (!existsSync(path.join(out, 'onnx', 'model.onnx')))
    throw new Error('training/gpt2/train.py made no model');
  return { modelsDir, model: 'tiny-gpt2' };
}

/** Just the generation module (with config, metrics and the model registry), its models loaded. */
export async function bootGeneration(env: Record<string, string>): Promise<INestApplication> {
  const saved = { ...process.env };
  Object.assign(process.env, { LOG_LEVEL: 'silent', ...env });
  try {
    const ref = await Test.createTestingModule({
      imports: [
        ConfigModule.forRoot({ isGlobal: true, cache: false, load: [appConfig] }),
        MetricsModule,
        ModelsModule,
        GenerationModule,
      ],
    }).compile();
    const app = ref.createNestApplication({ logger: false });
    await app.init();
    await app.get(ModelRegistry).settled();
    return app;
  } finally {
    process.env = saved;
  }
}
