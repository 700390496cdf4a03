/**
 * Generation speed: our serving path (TextGenerator: transformers.js on onnxruntime-node in worker
 * threads) against PyTorch eager with a KV cache (bench/generation_torch.py), same model, same prompts,
 * same number of greedy tokens, in the same run.
 *
 *   npx ts-node --transpile-only bench/generation.ts [modelDir=models/ko-chat-gpt2] [tokens=32]
 */
import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { GenerationOnlyModule } from '../src/modules/generation/generation-only.module';
import { TextGenerator } from '../src/modules/generation/text-generator';
import { ModelRegistry } from '../src/modules/models/model-registry';

const modelDir = path.resolve(process.argv[2] ?? 'models/ko-chat-gpt2');
const TOKENS = Number(process.argv[3] ?? 32);
const STREAMS = 4;
const GREEDY = { temperature: 0, repetition_penalty: 1, no_repeat_ngram_size: 0 };

interface Reference {
  references: { prompt: string; prompt_ids: number[] }[];
}
interface Timing {
  ttft_ms: number;
  decode_tps: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function boot(workers: number): Promise<INestApplicationContext> {
  Object.assign(process.env, {
    LOG_LEVEL: 'silent',
    GENERATOR_MODEL: modelDir,
    GENERATOR_WORKERS: String(workers),
    GENERATOR_MAX_QUEUE: String(STREAMS),
    GENERATOR_MAX_NEW_TOKENS: String(Math.max(TOKENS, 64)),
  });
  const app = await NestFactory.createApplicationContext(GenerationOnlyModule, { logger: false });
  await app.get(ModelRegistry).settled();
  return app;
}

async function node(gen: TextGenerator, prompt: string) {
  const started = performance.now();
  let first: number | null = null;
  const r = await gen.generate({
    message: prompt,
    options: { ...GREEDY, min_new_tokens: TOKENS, max_new_tokens: TOKENS },
    onToken: () => (first ??= performance.now()),
  });
  const end = performance.now();
  const ttft = (first ?? end) - started;
  return {
    ttft_ms: ttft,
    decode_tps: (r.tokens - 1) / ((end - (first ?? end)) / 1000 || Infinity),
    tokens: r.tokens,
  };
}

async function main(): Promise<void> {
  const ref = JSON.parse(readFileSync(path.join(modelDir, 'reference_greedy.json'), 'utf8')) as Reference;
  const prompts = ref.references.map((r) => r.prompt);
  const idsFile = path.join(tmpdir(), 'bench-generation-prompts.json');
  writeFileSync(idsFile, JSON.stringify(ref.references.map((r) => r.prompt_ids)));

  const torchOut = JSON.parse(
    execFileSync(
      '/usr/bin/python3',
      [
        path.join(__dirname, 'generation_torch.py'),
        '--model-dir',
        modelDir,
        '--prompts',
        idsFile,
        '--tokens',
        String(TOKENS),
        '--streams',
        String(STREAMS),
        '--processes',
        '2',
      ],
      { encoding: 'utf8', maxBuffer: 16 << 20 },
    ),
  ) as {
    parity_with_reference: boolean | null;
    single: Timing[];
    concurrent: { wall_s: number; tokens: number; results: Timing[] };
  };

  let app = await boot(1);
  let gen = app.get(TextGenerator);
  await node(gen, prompts[0]);
  const single: Timing[] = [];
  for (const p of prompts) single.push(await node(gen, p));
  await app.close();

  app = await boot(2);
  gen = app.get(TextGenerator);
  await Promise.all([node(gen, prompts[0]), node(gen, prompts[1])]);
  const started = performance.now();
  const concurrent = await Promise.all(
    Array.from({ length: STREAMS }, (_, i) => node(gen, prompts[i % prompts.length])),
  );
  const wall = (performance.now() - started) / 1000;
  await app.close();

  const rows: [string, number, number][] = [
    [
      'time to first token, 1 stream (median ms)',
      median(torchOut.single.map((s) => s.ttft_ms)),
      median(single.map((s) => s.ttft_ms)),
    ],
    [
      'decode tokens/s, 1 stream (median)',
      median(torchOut.single.map((s) => s.decode_tps)),
      median(single.map((s) => s.decode_tps)),
    ],
    [
      `time to first token, ${STREAMS} streams (median ms)`,
      median(torchOut.concurrent.results.map((s) => s.ttft_ms)),
      median(concurrent.map((s) => s.ttft_ms)),
    ],
    [
      `total tokens/s, ${STREAMS} streams on 2 workers`,
      torchOut.concurrent.tokens / torchOut.concurrent.wall_s,
      (STREAMS * TOKENS) / wall,
    ],
  ];
  console.log(
    `\nGeneration: ${path.relative(process.cwd(), modelDir)}, ${prompts.length} prompts, ${TOKENS} greedy tokens each`,
  );
  console.log(`PyTorch greedy ids equal the saved reference: ${torchOut.parity_with_reference}\n`);
  console.log('| measure | PyTorch eager + KV cache | Node (TextGenerator) | Node / PyTorch |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const [name, t, n] of rows) {
    console.log(`| ${name} | ${t.toFixed(1)} | ${n.toFixed(1)} | ${(n / t).toFixed(2)}× |`);
  }
  console.log('\nFor time to first token lower is better; for tokens/s higher is better.');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
