/**
 * `npm run eval:chat` — intent accuracy of the chat retrieval on the held-out eval set, with the same
 * corpus, embedder, FAISS index and threshold the service uses (configured by the same environment
 * variables: CORPUS_DIR, CHAT_CORPUS_FILES, CHAT_EMBEDDER, CHAT_INDEX, CHAT_MIN_SCORE, ...).
 *
 *   npx ts-node --transpile-only src/modules/chat/eval/eval-chat.ts [--files a.jsonl,b.csv] [--eval file.jsonl]
 *                                                     [--ood ChatbotData.csv | --ood none]
 *
 * --ood: questions that are out of scope for our intents (ChatbotData's breakup and love rows), used to
 * show how many a threshold would wrongly answer; only meaningful when that file is not being served.
 * The last line is `accuracy: 0.xxxx` (top-1 intent accuracy of the retrieval).
 */
import 'reflect-metadata';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { AppEnv } from '../../../config/app.config';
import { loadEnv } from '../../../config/env';
import { ChatEnv, minScore } from '../chat.config';
import { loadCorpusFile } from '../corpus/corpus-loader';
import { loadSentenceEncoder } from '../embedding/transformer.embedder';
import { buildRetrieval, RetrievalHit } from '../retrieval';
import { embedderFactory, retrievalSettings } from '../retrieval-settings';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const pct = (x: number) => x.toFixed(4);

async function main(): Promise<void> {
  const app = loadEnv(AppEnv);
  const chat = loadEnv(ChatEnv);
  const files = arg('files');
  if (files) chat.CHAT_CORPUS_FILES = files.split(',').map((f) => f.trim());
  const settings = retrievalSettings(app, chat);
  const evalFile = path.resolve(
    arg('eval') ?? path.join(settings.corpusDir, 'eval', 'ko-smalltalk.eval.jsonl'),
  );
  const oodArg =
    arg('ood') ??
    path.resolve(settings.corpusDir, '..', '..', 'shared', 'datasets', 'chatbot', 'ChatbotData.csv');
  const threshold = minScore(chat);

  const encoder =
    chat.CHAT_EMBEDDER === 'transformer'
      ? await loadSentenceEncoder(app.MODELS_DIR, chat.CHAT_ENCODER_MODEL)
      : undefined;
  const retrieval = await buildRetrieval(settings, embedderFactory(chat, encoder), (m) => console.error(m));
  const evalSet = readFileSync(evalFile, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as { q: string; intent: string });

  console.log(`# Chat retrieval eval\n`);
  console.log(
    `- corpus: ${retrieval.corpus.files.map((f) => `${f.name} (${f.entries.length})`).join(' + ')}`,
  );
  console.log(`- embedder: ${retrieval.embedder.id}`);
  console.log(
    `- index: ${JSON.stringify(retrieval.shards.map((s) => s.describe()))} (${retrieval.origin} in ${retrieval.loadMs} ms)`,
  );
  if (retrieval.corpus.files.length > 1) console.log(`- file priority margin: ${chat.CHAT_PRIORITY_MARGIN}`);
  console.log(
    `- eval: ${path.relative(process.cwd(), evalFile)} (${evalSet.length} questions), CHAT_MIN_SCORE ${threshold}\n`,
  );

  const perIntent = new Map<string, { n: number; top1: number; answered: number }>();
  const misses: string[] = [];
  const scores: { score: number; correct: boolean }[] = [];
  const started = performance.now();
  for (const ex of evalSet) {
    const hits = await retrieval.search(ex.q, chat.CHAT_TOP_K);
    const best: RetrievalHit | undefined = retrieval.pick(hits, threshold, chat.CHAT_PRIORITY_MARGIN);
    const correct = best?.entry.intent === ex.intent;
    const s = perIntent.get(ex.intent) ?? { n: 0, top1: 0, answered: 0 };
    s.n++;
    if (correct) s.top1++;
    if (correct && best.score >= threshold) s.answered++;
    perIntent.set(ex.intent, s);
    scores.push({ score: best?.score ?? -1, correct });
    if (!correct || best.score < threshold)
      misses.push(
        `| ${ex.q} | ${ex.intent} | ${best?.entry.q ?? '-'} | ${best?.entry.intent ?? '-'} | ${best?.score.toFixed(3) ?? '-'} |`,
      );
  }
  const perQueryMs = (performance.now() - started) / evalSet.length;

  console.log('| intent | questions | top-1 intent accuracy | answered correctly (score ≥ threshold) |');
  console.log('| --- | ---: | ---: | ---: |');
  let n = 0;
  let top1 = 0;
  let answered = 0;
  for (const [intent, s] of [...perIntent].sort((a, b) => a[0].localeCompare(b[0]))) {
    console.log(`| ${intent} | ${s.n} | ${pct(s.top1 / s.n)} | ${pct(s.answered / s.n)} |`);
    n += s.n;
    top1 += s.top1;
    answered += s.answered;
  }
  console.log(`| **overall** | ${n} | **${pct(top1 / n)}** | ${pct(answered / n)} |\n`);

  if (misses.length > 0) {
    console.log('Misses (wrong intent or under the threshold):\n');
    console.log('| question | expected | nearest corpus question | its intent | score |');
    console.log('| --- | --- | --- | --- | ---: |');
    for (const m of misses) console.log(m);
    console.log('');
  }

  // How the threshold trades eval coverage against answering out-of-scope questions.
  const served = new Set(retrieval.corpus.files.map((f) => f.path));
  let ood: number[] = [];
  if (oodArg !== 'none' && existsSync(oodArg) && !served.has(path.resolve(oodArg))) {
    const rows = (await loadCorpusFile(path.resolve(oodArg))).entries.filter((e) => e.intent !== 'smalltalk');
    for (const r of rows) ood.push((await retrieval.search(r.q, 1))[0]?.score ?? -1);
    console.log(
      `Threshold sweep; out of scope: ${rows.length} breakup/love questions of ${path.basename(oodArg)}:\n`,
    );
  } else {
    ood = [];
    console.log('Threshold sweep:\n');
  }
  console.log('| CHAT_MIN_SCORE | eval answered correctly | eval sent to fallback | out-of-scope answered |');
  console.log('| ---: | ---: | ---: | ---: |');
  for (const t of [0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7]) {
    const ok = scores.filter((s) => s.correct && s.score >= t).length / n;
    const fb = scores.filter((s) => s.score < t).length / n;
    const oodRate = ood.length > 0 ? pct(ood.filter((s) => s >= t).length / ood.length) : '-';
    console.log(`| ${t === threshold ? `**${t}**` : t} | ${pct(ok)} | ${pct(fb)} | ${oodRate} |`);
  }
  console.log(`\nmean search time: ${perQueryMs.toFixed(2)} ms per question (embed + FAISS)`);
  console.log(`answered correctly at CHAT_MIN_SCORE ${threshold}: ${pct(answered / n)}`);
  console.log(`accuracy: ${pct(top1 / n)}`);
}

main().catch((err: unknown) => {
  console.error(`eval:chat failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
