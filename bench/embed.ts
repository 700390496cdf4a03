/**
 * Embedding one chat message: the hashed n-gram embedder (baseline) against our sentence encoder
 * (models/ko-sentence-encoder through transformers.js on onnxruntime-node) and their fusion, in the same run,
 * on the eval messages. Also the event-loop delay (p99, max) of a 1 ms timer while messages are embedded one
 * after another, which shows whether inference blocks the loop.
 *
 *   npx ts-node --transpile-only bench/embed.ts [rounds=3]
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { loadCorpusFile } from '../src/modules/chat/corpus/corpus-loader';
import { Embedder } from '../src/modules/chat/embedding/embedder';
import { FusionEmbedder } from '../src/modules/chat/embedding/fusion.embedder';
import {
  HASHED_NGRAM_DEFAULTS,
  HashedNgramFactory,
} from '../src/modules/chat/embedding/hashed-ngram.embedder';
import { loadSentenceEncoder } from '../src/modules/chat/embedding/sentence-encoder';
import { TransformerEmbedder } from '../src/modules/chat/embedding/transformer.embedder';

const ROOT = path.resolve(__dirname, '..');
const ROUNDS = Number(process.argv[2] ?? 3);

async function measure(embedder: Embedder, messages: string[]) {
  for (const m of messages.slice(0, 20)) await embedder.embed([m]);
  const times: number[] = [];
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  for (let r = 0; r < ROUNDS; r++)
    for (const m of messages) {
      const t = performance.now();
      await embedder.embed([m]);
      times.push(performance.now() - t);
      await new Promise((res) => setImmediate(res));
    }
  loop.disable();
  times.sort((a, b) => a - b);
  const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
  return { p50: q(0.5), p99: q(0.99), loopP99: loop.percentile(99) / 1e6, loopMax: loop.max / 1e6 };
}

async function main() {
  const messages = ['ko-smalltalk.eval.jsonl', 'ko-hard.eval.jsonl', 'ko-ood.eval.jsonl']
    .flatMap((f) => readFileSync(path.join(ROOT, 'corpus', 'eval', f), 'utf8').split('\n'))
    .filter((l) => l.trim())
    .map((l) => (JSON.parse(l) as { q: string }).q);
  const corpus = (await loadCorpusFile(path.join(ROOT, 'corpus', 'ko-smalltalk.jsonl'))).entries.map(
    (e) => e.q,
  );
  const ngram = await new HashedNgramFactory(HASHED_NGRAM_DEFAULTS).fit(corpus);
  const encoder = await loadSentenceEncoder(path.join(ROOT, 'models'), 'ko-sentence-encoder');
  const learned = new TransformerEmbedder(encoder);
  const rows: [string, Embedder][] = [
    ['hashed n-gram (baseline)', ngram],
    ['ko-sentence-encoder', learned],
    ['fusion (both)', new FusionEmbedder(ngram, learned, 0.5)],
  ];
  console.log(
    `${messages.length} messages × ${ROUNDS} rounds, one message per call; ${cpus().length} CPUs, load ${loadavg()[0].toFixed(2)}\n`,
  );
  console.log('| embedder | p50 ms | p99 ms | vs n-gram (p50) | event-loop delay p99 ms | max ms |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  let base = NaN;
  for (const [name, e] of rows) {
    const r = await measure(e, messages);
    if (Number.isNaN(base)) base = r.p50;
    console.log(
      `| ${name} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${(r.p50 / base).toFixed(2)}x | ${r.loopP99.toFixed(2)} | ${r.loopMax.toFixed(2)} |`,
    );
  }
  await encoder.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
