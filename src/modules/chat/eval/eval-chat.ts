/**
 * `npm run eval:chat`: the chat policy on the held-out eval sets, per embedder, with the service's corpus,
 * out-of-scope anchors, FAISS index and calibrated thresholds (each embedder's DEFAULT_CALIBRATION, or the
 * CHAT_MIN_SCORE / CHAT_ANSWER_MARGIN / CHAT_OUT_OF_SCOPE_MIN_SCORE overrides).
 *
 *   npx ts-node --transpile-only src/modules/chat/eval/eval-chat.ts [--embedders hashed-ngram,transformer,fusion]
 *                                                     [--misses N] [--similarity]
 *
 * Sets (corpus/eval/): easy (ko-smalltalk.eval.jsonl, shares wording with the corpus), hard
 * (ko-hard.eval.jsonl, no content bigram shared with its intent's corpus questions), ood (ko-ood.eval.jsonl,
 * requests the bot must decline) and smalltalk (ko-generation-prompts.jsonl, everyday small talk that should
 * reach the generator or the corpus, not the out-of-scope fallback). None of them is used for training or
 * for choosing thresholds. --similarity adds KorSTS test Spearman and paraKQC top-1 from ../shared/datasets.
 * --write-scores: also writes the tables to the encoder's folder (EVAL.md, and scores.json, which /models shows).
 * The last line is `accuracy: 0.xxxx` (easy set, the configured embedder).
 */
import 'reflect-metadata';
import { existsSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { calibration, EmbedderKind } from '../chat.config';
import { decide, Decision } from '../policy/reply-policy';
import { Retrieval } from '../retrieval';
import { arg, embedderKinds, evalContext, percentile, readJsonl, retrievalFor } from './eval-support';
import { similarityScores } from './similarity-eval';

interface Labelled {
  q: string;
  intent?: string;
}

const SETS: { name: string; file: string; kind: 'intent' | 'ood' | 'smalltalk' }[] = [
  { name: 'easy', file: 'ko-smalltalk.eval.jsonl', kind: 'intent' },
  { name: 'hard', file: 'ko-hard.eval.jsonl', kind: 'intent' },
  { name: 'ood', file: 'ko-ood.eval.jsonl', kind: 'ood' },
  { name: 'smalltalk', file: 'ko-generation-prompts.jsonl', kind: 'smalltalk' },
];

const f4 = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : '-');

interface SetResult {
  n: number;
  correct: number;
  retrieval: number;
  wrongIntent: number;
  generation: number;
  fallback: number;
  ms: number[];
  misses: string[];
}

async function runSet(
  r: Retrieval,
  kind: EmbedderKind,
  rows: Labelled[],
  topK: number,
  priorityMargin: number,
  cal: ReturnType<typeof calibration>,
) {
  const out: SetResult = {
    n: 0,
    correct: 0,
    retrieval: 0,
    wrongIntent: 0,
    generation: 0,
    fallback: 0,
    ms: [],
    misses: [],
  };
  for (const ex of rows) {
    const t0 = performance.now();
    const seen = await r.inspect(ex.q, topK);
    const d: Decision = decide(r.pick(seen.hits, cal.answer, priorityMargin), seen.outOfScope, cal);
    out.ms.push(performance.now() - t0);
    out.n++;
    const top = seen.hits[0];
    if (d.route === 'retrieval') {
      out.retrieval++;
      if (ex.intent && d.hit.entry.intent === ex.intent) out.correct++;
      else if (ex.intent) out.wrongIntent++;
    } else if (d.route === 'generation') out.generation++;
    else out.fallback++;
    const ok = ex.intent ? d.route === 'retrieval' && d.hit.entry.intent === ex.intent : undefined;
    if (ok === false || (!ex.intent && d.route === 'retrieval'))
      out.misses.push(
        `| ${kind} | ${ex.q} | ${ex.intent ?? '-'} | ${d.route} | ${top?.entry.intent ?? '-'} (${top?.score.toFixed(3)}: ${top?.entry.q}) | ${seen.outOfScope?.score.toFixed(3) ?? '-'} |`,
      );
  }
  return out;
}

async function main(): Promise<void> {
  const ctx = await evalContext();
  const corpusDir = path.resolve(ctx.chat.CORPUS_DIR);
  const kinds = embedderKinds(ctx);
  if (ctx.encoderError) console.error(`encoder not loaded (${ctx.encoderError}); n-gram only`);
  const sets = SETS.filter((s) => existsSync(path.join(corpusDir, 'eval', s.file))).map((s) => ({
    ...s,
    rows: readJsonl<Labelled>(path.join(corpusDir, 'eval', s.file)),
  }));
  const showMisses = Number(arg('misses') ?? 0);

  console.log('# Chat policy eval\n');
  console.log(`- sets: ${sets.map((s) => `${s.name} ${s.rows.length}`).join(', ')} (corpus/eval/)`);
  const table: string[] = [];
  const scores: Record<string, Record<string, Record<string, number>>> = {};
  const misses: string[] = [];
  const report: string[] = [];
  const say = (line = '') => {
    console.log(line);
    report.push(line);
  };
  let configuredEasy = NaN;
  for (const kind of kinds) {
    const r = await retrievalFor(ctx, kind);
    const cal = calibration({ ...ctx.chat, CHAT_EMBEDDER: kind } as never);
    console.log(
      `- ${kind}: ${r.embedder.id}; corpus ${r.size} questions, ${r.outOfScope?.file.entries.length ?? 0} out-of-scope anchors; thresholds ${JSON.stringify(cal)}`,
    );
    for (const s of sets) {
      const res = await runSet(r, kind, s.rows, ctx.chat.CHAT_TOP_K, ctx.chat.CHAT_PRIORITY_MARGIN, cal);
      misses.push(...res.misses.slice(0, showMisses));
      const acc = s.kind === 'intent' ? res.correct / res.n : NaN;
      const round = (x: number) => Math.round(x * 10_000) / 10_000;
      (scores[kind] ??= {})[s.name] = Object.fromEntries(
        Object.entries({
          accuracy: acc,
          falseAccept: s.kind === 'intent' ? NaN : res.retrieval / res.n,
          falseReject: s.kind === 'ood' ? NaN : res.fallback / res.n,
          p50Ms: percentile(res.ms, 50),
        })
          .filter(([, v]) => Number.isFinite(v))
          .map(([k, v]) => [k, round(v)]),
      );
      if (s.name === 'easy' && kind === ctx.chat.CHAT_EMBEDDER) configuredEasy = acc;
      table.push(
        `| ${s.name} | ${kind} | ${res.n} | ${f4(acc)} | ${s.kind === 'intent' ? f4(res.wrongIntent / res.n) : '-'} | ${s.kind !== 'intent' ? f4(res.retrieval / res.n) : '-'} | ${s.kind === 'intent' ? f4(res.fallback / res.n) : s.kind === 'smalltalk' ? f4(res.fallback / res.n) : '-'} | ${f4(res.generation / res.n)} | ${s.kind === 'ood' ? f4(res.fallback / res.n) : '-'} | ${percentile(res.ms, 50).toFixed(2)} |`,
      );
    }
  }
  say('');
  say(
    '| set | embedder | n | accuracy | wrong intent | answered from corpus (false accept) | sent to fallback (false reject) | to generator | declined (fallback) | p50 ms |',
  );
  say('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const row of table) say(row);
  say(
    '\naccuracy: answered from the corpus with the right intent. ood: a false accept is any corpus answer; the' +
      ' goal is the fallback. smalltalk: the fallback is the false reject; corpus or generator are both fine.',
  );
  if (misses.length > 0) {
    console.log(
      '\n| embedder | message | expected | route | nearest corpus question | nearest out-of-scope |',
    );
    console.log('| --- | --- | --- | --- | --- | ---: |');
    for (const m of misses) console.log(m);
  }
  if (process.argv.includes('--similarity')) {
    say('\n## Sentence similarity (held-out public data)\n');
    say('| embedder | KorSTS test Spearman | paraKQC top-1 among 10,000 (held-out sets) |');
    say('| --- | ---: | ---: |');
    for (const kind of kinds.filter((k) => k !== 'fusion')) {
      const r = await retrievalFor(ctx, kind);
      const s = await similarityScores(ctx, r.embedder);
      (scores[kind] ??= {}).similarity = {
        korstsSpearman: Number(f4(s.korsts)),
        parakqcTop1: Number(f4(s.parakqc)),
      };
      say(`| ${kind} | ${f4(s.korsts)} | ${f4(s.parakqc)} |`);
    }
  }
  if (process.argv.includes('--write-scores') && ctx.encoder) {
    const dir = ctx.encoder.dir;
    writeFileSync(
      path.join(dir, 'EVAL.md'),
      `# ${ctx.encoder.name}: chat eval\n\n\`npm run eval:chat -- --similarity --write-scores\` (${new Date().toISOString().slice(0, 10)}); ` +
        `thresholds per embedder from \`npm run calibrate:chat\` (training files only).\n${report.join('\n')}\n`,
    );
    writeFileSync(
      path.join(dir, 'scores.json'),
      JSON.stringify(
        { encoder: scores.transformer, fusion: scores.fusion, hashedNgramBaseline: scores['hashed-ngram'] },
        null,
        1,
      ) + '\n',
    );
  }
  console.log(`\naccuracy: ${f4(configuredEasy)}`);
}

main().catch((err: unknown) => {
  console.error(`eval:chat failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
