/**
 * `npm run eval:generation`: the generated replies, measured on data the generator never trained on.
 *
 * - perplexity (and nats per character, which does not depend on the tokenizer) of the held-out ChatbotData
 *   answers (the sha1 split of training/gpt2/data.py), for the served model and any --baseline model dir;
 * - on the "report" half of those questions and on corpus/eval/ko-generation-prompts.jsonl (small talk
 *   written before training, in no training file): the chat's candidate ranking and quality gate, as the
 *   service runs them (CHAT_REPLY_CANDIDATES, CHAT_REPLY_RELEVANCE_WEIGHT, CHAT_REPLY_GATE) — the share let
 *   through, the malformed rate among those, and the encoder similarity of the chosen reply to the reference
 *   answer against that of a random ChatbotData answer;
 * - --calibrate: chooses CHAT_REPLY_GATE on the other ("calibrate") half: a chosen reply counts as acceptable
 *   when it has no quality issue and is closer to the reference answer than the median random answer; the
 *   gate is the threshold on its score that classifies that best.
 *
 *   npx ts-node --transpile-only src/modules/chat/eval/eval-generation.ts [--baseline DIR] [--limit N]
 *       [--calibrate] [--samples N] [--perplexity-only]
 */
import 'reflect-metadata';
import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import * as path from 'node:path';
import { GenerationOnlyModule } from '../../generation/generation-only.module';
import { TextGenerator } from '../../generation/text-generator';
import { ModelRegistry } from '../../models/model-registry';
import { Embedder } from '../embedding/embedder';
import { TransformerEmbedder } from '../embedding/transformer.embedder';
import { passesGate, rankReplies, RankedReply } from '../reply/reply-chooser';
import { arg, evalContext, percentile, readJsonl, sharedDataset } from './eval-support';
import { chatbotDataSplit, heldOutHalf, QaPair } from './heldout-chatbotdata';

const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '-');
const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i], 0);

/** Perplexity of the answers given `<usr>{q}<sys>`, over answer tokens and the final </s>. */
async function perplexity(modelDir: string, pairs: QaPair[]): Promise<{ ppl: number; natsPerChar: number }> {
  const { AutoModelForCausalLM, AutoTokenizer, env, Tensor } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = path.dirname(path.resolve(modelDir)) + path.sep;
  const name = path.basename(path.resolve(modelDir));
  const tok = await AutoTokenizer.from_pretrained(name, { local_files_only: true });
  const model = await AutoModelForCausalLM.from_pretrained(name, { local_files_only: true, dtype: 'fp32' });
  const id = (t: string) => tok.encode(t, { add_special_tokens: false })[0];
  const usr = id('<usr>');
  const sys = id('<sys>');
  const eos = tok.eos_token_id ?? 1;
  let nll = 0;
  let tokens = 0;
  let chars = 0;
  const B = 16;
  for (let i = 0; i < pairs.length; i += B) {
    const batch = pairs.slice(i, i + B).map((p) => {
      const prompt = [usr, ...tok.encode(p.q, { add_special_tokens: false }), sys];
      return {
        prompt: prompt.length,
        ids: [...prompt, ...tok.encode(p.a, { add_special_tokens: false }), eos],
      };
    });
    const T = Math.max(...batch.map((b) => b.ids.length));
    const ids = new BigInt64Array(batch.length * T).fill(BigInt(eos));
    const mask = new BigInt64Array(batch.length * T);
    batch.forEach((b, r) => b.ids.forEach((x, c) => ((ids[r * T + c] = BigInt(x)), (mask[r * T + c] = 1n))));
    const { logits } = (await model({
      input_ids: new Tensor('int64', ids, [batch.length, T]),
      attention_mask: new Tensor('int64', mask, [batch.length, T]),
    })) as { logits: { dims: number[]; data: Float32Array } };
    const V = logits.dims[2];
    batch.forEach((b, r) => {
      for (let c = b.prompt; c < b.ids.length; c++) {
        const off = (r * T + c - 1) * V;
        let max = -Infinity;
        for (let v = 0; v < V; v++) max = Math.max(max, logits.data[off + v]);
        let sum = 0;
        for (let v = 0; v < V; v++) sum += Math.exp(logits.data[off + v] - max);
        nll -= logits.data[off + b.ids[c]] - max - Math.log(sum);
        tokens++;
      }
    });
    chars += pairs.slice(i, i + B).reduce((s, p) => s + p.a.length + 1, 0);
  }
  await model.dispose();
  return { ppl: Math.exp(nll / tokens), natsPerChar: nll / chars };
}

interface Outcome {
  prompt: string;
  reference?: string;
  best?: RankedReply;
  sent: boolean;
}

async function chooseAll(
  generator: TextGenerator,
  embedder: Embedder,
  prompts: { q: string; a?: string }[],
  settings: { candidates: number; relevanceWeight: number; gate: number },
): Promise<Outcome[]> {
  const out: Outcome[] = [];
  for (const [i, p] of prompts.entries()) {
    const r = await generator.generate({
      message: p.q,
      candidates: settings.candidates,
      options: { seed: 1000 + i },
    });
    const ranked = await rankReplies(p.q, r.candidates ?? [], embedder, settings);
    out.push({
      prompt: p.q,
      reference: p.a,
      best: ranked[0],
      sent: passesGate(ranked[0], settings.gate),
    });
  }
  return out;
}

async function relevance(embedder: Embedder, outcomes: Outcome[], randomAnswers: string[]) {
  const withRef = outcomes.filter((o) => o.reference && o.best);
  if (withRef.length === 0)
    return { reply: NaN, random: NaN, perItem: [] as number[], randomPerItem: [] as number[] };
  const refs = await embedder.embed(withRef.map((o) => o.reference!));
  const replies = await embedder.embed(withRef.map((o) => o.best!.candidate.text));
  const rand = await embedder.embed(withRef.map((_, i) => randomAnswers[(i * 7919) % randomAnswers.length]));
  const perItem = refs.map((r, i) => dot(r, replies[i]));
  const randomPerItem = refs.map((r, i) => dot(r, rand[i]));
  const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  return { reply: mean(perItem), random: mean(randomPerItem), perItem, randomPerItem };
}

async function main(): Promise<void> {
  const ctx = await evalContext();
  if (!ctx.encoder) throw new Error(`the chat encoder is needed for relevance: ${ctx.encoderError}`);
  const embedder = new TransformerEmbedder(ctx.encoder);
  const csv = sharedDataset(ctx, 'chatbot', 'ChatbotData.csv');
  if (!csv) throw new Error('../shared/datasets/chatbot/ChatbotData.csv is needed');
  const split = chatbotDataSplit(csv);
  const limit = Number(arg('limit') ?? 150);
  const report = split.heldOut.filter((p) => heldOutHalf(p.q) === 'report').slice(0, limit);
  const calib = split.heldOut.filter((p) => heldOutHalf(p.q) === 'calibrate').slice(0, limit);
  const own = readJsonl<{ q: string }>(
    path.resolve(ctx.chat.CORPUS_DIR, 'eval', 'ko-generation-prompts.jsonl'),
  );
  const randomAnswers = split.train.map((p) => p.a);
  const modelDir = path.resolve(ctx.app.MODELS_DIR, process.env.GENERATOR_MODEL ?? 'ko-chat-gpt2');

  console.log('# Generation eval\n');
  console.log(`| model | held-out answers | perplexity | nats per character |`);
  console.log('| --- | ---: | ---: | ---: |');
  for (const dir of [modelDir, ...(arg('baseline') ? [arg('baseline')!] : [])]) {
    const p = await perplexity(dir, split.heldOut);
    console.log(`| ${dir} | ${split.heldOut.length} | ${f3(p.ppl)} | ${f3(p.natsPerChar)} |`);
  }

  if (process.argv.includes('--perplexity-only')) return;
  const app: INestApplicationContext = await NestFactory.createApplicationContext(GenerationOnlyModule, {
    logger: false,
  });
  await app.get(ModelRegistry).settled();
  const generator = app.get(TextGenerator);
  const settings = {
    candidates: ctx.chat.CHAT_REPLY_CANDIDATES,
    relevanceWeight: ctx.chat.CHAT_REPLY_RELEVANCE_WEIGHT,
    gate: ctx.chat.CHAT_REPLY_GATE,
  };

  if (process.argv.includes('--calibrate')) {
    const outs = await chooseAll(generator, embedder, calib, { ...settings, gate: -Infinity });
    const rel = await relevance(embedder, outs, randomAnswers);
    const median = percentile(rel.randomPerItem, 50);
    const labelled = outs
      .filter((o) => o.best)
      .map((o, i) => ({ score: o.best!.score, ok: o.best!.issues.length === 0 && rel.perItem[i] > median }));
    let best = { gate: 0, acc: -1 };
    for (let g = -6; g <= 2; g += 0.05) {
      const acc = labelled.filter((l) => l.score >= g === l.ok).length / labelled.length;
      if (acc > best.acc + 1e-9) best = { gate: Math.round(g * 100) / 100, acc };
    }
    console.log(
      `\ncalibration on ${labelled.length} held-out questions (calibrate half): ${labelled.filter((l) => l.ok).length} acceptable; ` +
        `CHAT_REPLY_GATE=${best.gate} classifies ${f3(best.acc)} of them right`,
    );
  }

  console.log(`\nSettings: ${JSON.stringify(settings)}\n`);
  console.log(
    '| prompts | n | let through | malformed among let through | sim(reply, reference) | sim(random answer, reference) | p50 ms |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  const samples: string[] = [];
  for (const [name, prompts] of [
    ['ChatbotData held-out (report half)', report],
    ['our small-talk prompts (ko-generation-prompts)', own],
  ] as const) {
    const t0 = performance.now();
    const outs = await chooseAll(generator, embedder, prompts as { q: string; a?: string }[], settings);
    const ms = (performance.now() - t0) / prompts.length;
    const sent = outs.filter((o) => o.sent);
    const malformed = sent.filter((o) => o.best!.issues.length > 0).length;
    const rel = await relevance(embedder, outs, randomAnswers);
    console.log(
      `| ${name} | ${outs.length} | ${f3(sent.length / outs.length)} | ${f3(sent.length ? malformed / sent.length : NaN)} | ${f3(rel.reply)} | ${f3(rel.random)} | ${ms.toFixed(0)} (mean) |`,
    );
    if (name.startsWith('our'))
      for (const o of outs.slice(0, Number(arg('samples') ?? 30)))
        samples.push(
          `| ${o.prompt} | ${o.sent ? 'generation' : 'fallback (low_quality)'} | ${o.best?.candidate.text ?? ''} | ${f3(o.best?.score ?? NaN)} | ${o.best?.issues.map((x) => x.issue).join(', ') ?? ''} |`,
        );
  }
  console.log('\n| prompt | source | best candidate | score | issues |');
  console.log('| --- | --- | --- | ---: | --- |');
  for (const s of samples) console.log(s);
  await app.close();
}

main().catch((err: unknown) => {
  console.error(`eval:generation failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
