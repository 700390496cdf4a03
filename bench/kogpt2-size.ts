/**
 * What a real KoGPT2 (skt/kogpt2-base-v2's shape: 12 layers, 12 heads, width 768, 1024 positions, 51,200
 * tokens) costs to serve here, through the unchanged TextGenerator. The model is random-weight, made by
 * training/gpt2/make_kogpt2_size.py in a temporary folder (nothing of that size is committed); our committed
 * ko-chat-gpt2 is measured in the same run as the baseline.
 *
 *   npx ts-node --transpile-only bench/kogpt2-size.ts [tokens=32]
 */
import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { GenerationOnlyModule } from '../src/modules/generation/generation-only.module';
import { TextGenerator } from '../src/modules/generation/text-generator';
import { ModelRegistry } from '../src/modules/models/model-registry';

const TOKENS = Number(process.argv[2] ?? 32);
const FORCED = {
  temperature: 0,
  repetition_penalty: 1,
  no_repeat_ngram_size: 0,
  min_new_tokens: TOKENS,
  max_new_tokens: TOKENS,
};
const PROMPTS = ['오늘 하루 어땠어?', '주말에 뭐 할까', '요즘 잠이 안 와', '새로 산 신발이 예뻐'];

async function measure(modelsDir: string, model: string) {
  Object.assign(process.env, {
    MODELS_DIR: modelsDir,
    GENERATOR_MODEL: model,
    GENERATOR_WORKERS: '4',
    LOG_LEVEL: 'silent',
  });
  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  const app: INestApplicationContext = await NestFactory.createApplicationContext(GenerationOnlyModule, {
    logger: false,
  });
  await app.get(ModelRegistry).settled();
  const loadMs = performance.now() - t0;
  const rss = process.memoryUsage().rss - rss0;
  const g = app.get(TextGenerator);
  await g.generate({ message: '안녕', options: { ...FORCED, max_new_tokens: 4, min_new_tokens: 4 } });
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const one = [];
  for (const p of PROMPTS) one.push(await g.generate({ message: p, options: FORCED }));
  const t4 = performance.now();
  const four = await Promise.all(PROMPTS.map((p) => g.generate({ message: p, options: FORCED })));
  const wall4 = (performance.now() - t4) / 1000;
  loop.disable();
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const ttft = median(one.map((r) => r.firstTokenMs ?? NaN));
  const tps1 = median(one.map((r) => r.tokens / (r.totalMs / 1000)));
  const tps4 = four.reduce((s, r) => s + r.tokens, 0) / wall4;
  await app.close();
  return { loadMs, rssMb: rss / 2 ** 20, ttft, tps1, tps4, loopP99: loop.percentile(99) / 1e6 };
}

async function main() {
  const dir = mkdtempSync(path.join(tmpdir(), 'kogpt2-size-'));
  try {
    const t = performance.now();
    const made = JSON.parse(
      execFileSync(
        '/usr/bin/python3',
        [path.resolve('training/gpt2/make_kogpt2_size.py'), '--out', path.join(dir, 'kogpt2-size')],
        {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      )
        .trim()
        .split('\n')
        .pop()!,
    ) as Record<string, number>;
    console.error(
      `made the KoGPT2-size model in ${((performance.now() - t) / 1000).toFixed(0)} s: ${JSON.stringify(made)}`,
    );
    const base = await measure(path.resolve('models'), 'ko-chat-gpt2');
    const big = await measure(dir, 'kogpt2-size');
    const row = (name: string, r: typeof base) =>
      `| ${name} | ${(r.loadMs / 1000).toFixed(1)} | ${r.rssMb.toFixed(0)} | ${r.ttft.toFixed(0)} | ${r.tps1.toFixed(1)} | ${r.tps4.toFixed(1)} | ${r.loopP99.toFixed(1)} |`;
    console.log(
      `\n${TOKENS} greedy tokens per reply, 4 worker threads, ${require('node:os').cpus().length} CPUs\n`,
    );
    console.log(
      '| model | load s (4 workers) | RSS MB after load | time to first token ms | tokens/s, 1 stream | tokens/s, 4 streams (total) | event-loop delay p99 ms |',
    );
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    console.log(row(`ko-chat-gpt2 (ours, baseline)`, base));
    console.log(
      row(`KoGPT2 shape, ${made.parameters.toLocaleString()} params, vocab ${made.vocab_size}`, big),
    );
    console.log(
      `\nratios KoGPT2-size / ours: load ${(big.loadMs / base.loadMs).toFixed(1)}x, RSS ${(big.rssMb / base.rssMb).toFixed(1)}x, ` +
        `TTFT ${(big.ttft / base.ttft).toFixed(1)}x, tokens/s (1 stream) ${(big.tps1 / base.tps1).toFixed(2)}x`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
