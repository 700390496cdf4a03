/**
 * Worker thread that owns the causal language model. Generation is CPU-bound and onnxruntime's run()
 * would stall the main event loop; here it stalls nothing but this thread. One generation at a time per
 * worker (piscina concurrentTasksPerWorker = 1), so the seeded RNG and the cancel flag are per task.
 */
import {
  AutoModelForCausalLM,
  AutoTokenizer,
  BaseStreamer,
  env,
  PreTrainedModel,
  PreTrainedTokenizer,
  random,
  StoppingCriteria,
  Tensor,
} from '@huggingface/transformers';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { workerData } from 'piscina';
import type {
  FinishReason,
  GeneratedCandidate,
  GenerateResult,
  GenerationOptions,
  GenerateTask,
  LoadTask,
  ModelFacts,
  WorkerInit,
} from './generation.types';

const init = workerData as WorkerInit;

interface Loaded {
  tokenizer: PreTrainedTokenizer;
  model: PreTrainedModel;
  facts: ModelFacts;
  eos: number;
  usr: number | null;
  sys: number | null;
}

let loaded: Promise<Loaded> | undefined;

async function load(): Promise<Loaded> {
  // Local files only: nothing is ever fetched from a hub.
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = init.modelsDir;
  env.useBrowserCache = false;
  env.useFSCache = false;
  const options = { local_files_only: true };
  const tokenizer = await AutoTokenizer.from_pretrained(init.model, options);
  const model = await AutoModelForCausalLM.from_pretrained(init.model, { ...options, dtype: 'fp32' });
  const config = JSON.parse(
    readFileSync(path.join(init.modelsDir, init.model, 'config.json'), 'utf8'),
  ) as Record<string, unknown>;
  const num = (k: string, alt?: string) => Number(config[k] ?? (alt ? config[alt] : undefined) ?? 0);
  const eos = num('eos_token_id') || (tokenizer.eos_token_id ?? 1);
  const id = (t: string): number | null => {
    const ids = tokenizer.encode(t, { add_special_tokens: false });
    return ids.length === 1 ? ids[0] : null;
  };
  const vocab = tokenizer.get_vocab?.() as Map<string, number> | Record<string, number> | undefined;
  const vocabSize = vocab instanceof Map ? vocab.size : vocab ? Object.keys(vocab).length : 0;
  const facts: ModelFacts = {
    modelType: String(config.model_type ?? 'unknown'),
    parameters:
      typeof config.num_parameters === 'number' ? config.num_parameters : estimateParameters(config),
    layers: num('n_layer', 'num_hidden_layers'),
    heads: num('n_head', 'num_attention_heads'),
    embedding: num('n_embd', 'hidden_size'),
    positions: num('n_positions', 'max_position_embeddings'),
    vocabSize: num('vocab_size'),
    tokenizer: {
      class: tokenizer.constructor.name,
      vocabSize,
      specialTokens: (tokenizer.all_special_tokens ?? []) as string[],
    },
  };
  return { tokenizer, model, facts, eos, usr: id('<usr>'), sys: id('<sys>') };
}

/** GPT-2 parameter count from its config: embeddings + blocks (+ final LayerNorm); the LM head is tied. */
function estimateParameters(c: Record<string, unknown>): number | null {
  const n = Number(c.n_layer),
    d = Number(c.n_embd),
    v = Number(c.vocab_size),
    p = Number(c.n_positions);
  if (![n, d, v, p].every((x) => Number.isFinite(x) && x > 0)) return null;
  const block = 4 * d + (d * 3 * d + 3 * d) + (d * d + d) + (d * 4 * d + 4 * d) + (4 * d * d + d);
  return v * d + p * d + n * block + 2 * d;
}

/**
 * Prompt ids in the KoGPT2-chatbot format `<usr>{q}<sys>{a}</s>…<usr>{message}<sys>`, newest turns kept
 * within the token budget (the current message always, truncated from its start if it alone is too long).
 */
function buildPrompt(m: Loaded, task: GenerateTask): number[] {
  const enc = (text: string) => m.tokenizer.encode(text, { add_special_tokens: false });
  const usr = m.usr !== null ? [m.usr] : enc('<usr>');
  const sys = m.sys !== null ? [m.sys] : enc('<sys>');
  const current = [...usr, ...enc(task.message), ...sys];
  const budget = Math.min(task.contextTokens, m.facts.positions - 1);
  let ids = current.slice(-budget);
  for (let i = task.history.length - 1; i >= 0; i--) {
    const t = task.history[i];
    const turn = [...usr, ...enc(t.user), ...sys, ...enc(t.bot), m.eos];
    if (turn.length + ids.length > budget) break;
    ids = [...turn, ...ids];
  }
  return ids;
}

/** Decodes per token (transformers.js's TextStreamer only flushes Korean per word). */
class TokenStreamer extends BaseStreamer {
  private prompt = true;
  readonly ids: number[] = [];
  private emitted = '';
  firstTokenAt: number | null = null;

  constructor(
    private readonly tokenizer: PreTrainedTokenizer,
    private readonly eos: number,
    private readonly onText: (text: string, index: number) => void,
  ) {
    super();
  }

  override put(value: bigint[][]): void {
    if (this.prompt) {
      this.prompt = false;
      return;
    }
    const id = Number(value[0][0]);
    this.firstTokenAt ??= performance.now();
    if (id === this.eos) return;
    this.ids.push(id);
    const text = this.text();
    // An incomplete UTF-8 sequence (byte-fallback tokens) decodes to U+FFFD; wait for the next token.
    if (text.endsWith('\uFFFD')) return;
    if (text.length > this.emitted.length && text.startsWith(this.emitted)) {
      this.onText(text.slice(this.emitted.length), this.ids.length - 1);
      this.emitted = text;
    }
  }

  override end(): void {}

  text(): string {
    // transformers.js refuses to decode an empty list.
    if (this.ids.length === 0) return '';
    return this.tokenizer.decode(this.ids, { skip_special_tokens: true }).replace(/^\s+/, '');
  }
}

class StopWhen extends StoppingCriteria {
  reason: FinishReason | null = null;
  constructor(
    private readonly cancel: Int32Array,
    private readonly deadline: number,
  ) {
    super();
  }
  override _call(inputIds: number[][]): boolean[] {
    if (Atomics.load(this.cancel, 0) === 1) this.reason = 'cancelled';
    else if (Date.now() >= this.deadline) this.reason = 'deadline';
    return inputIds.map(() => this.reason !== null);
  }
}

/** transformers.js generate() arguments for our options (top_p only applies when sampling). */
function generateArgs(
  m: Loaded,
  o: GenerationOptions,
  sample: boolean,
  io: { input_ids: Tensor; attention_mask: Tensor; maxNew: number; streamer: BaseStreamer; stop: StopWhen },
): Parameters<PreTrainedModel['generate']>[0] {
  return {
    inputs: io.input_ids,
    attention_mask: io.attention_mask,
    max_new_tokens: io.maxNew,
    min_new_tokens: Math.min(o.min_new_tokens, io.maxNew),
    do_sample: sample,
    temperature: o.temperature,
    top_k: o.top_k,
    top_p: sample ? o.top_p : 1,
    repetition_penalty: o.repetition_penalty,
    no_repeat_ngram_size: o.no_repeat_ngram_size,
    eos_token_id: m.eos,
    pad_token_id: m.eos,
    streamer: io.streamer,
    stopping_criteria: [io.stop],
  } as unknown as Parameters<PreTrainedModel['generate']>[0];
}

/** Records when the first new token arrives (batched sampling streams nothing). */
class FirstTokenClock extends BaseStreamer {
  private prompt = true;
  at: number | null = null;
  override put(): void {
    if (this.prompt) this.prompt = false;
    else this.at ??= performance.now();
  }
  override end(): void {}
}

/** The text each token adds (a token that ends inside a UTF-8 sequence adds nothing until it completes). */
function piecesOf(tokenizer: PreTrainedTokenizer, ids: number[]): string[] {
  const pieces: string[] = [];
  let emitted = '';
  for (let k = 1; k <= ids.length; k++) {
    const text = tokenizer.decode(ids.slice(0, k), { skip_special_tokens: true }).replace(/^\s+/, '');
    if (text.endsWith('\uFFFD') || !text.startsWith(emitted)) {
      pieces.push('');
      continue;
    }
    pieces.push(text.slice(emitted.length));
    emitted = text;
  }
  return pieces;
}

/** log-softmax of one row of logits at the given id. */
function logProbAt(logits: Float32Array, offset: number, vocab: number, id: number): number {
  let max = -Infinity;
  for (let v = 0; v < vocab; v++) if (logits[offset + v] > max) max = logits[offset + v];
  let sum = 0;
  for (let v = 0; v < vocab; v++) sum += Math.exp(logits[offset + v] - max);
  return logits[offset + id] - max - Math.log(sum);
}

/**
 * N replies sampled in one batch (the prompt repeated N times), then scored in one forward pass over
 * prompt + reply: the sum of each reply token's log-probability at temperature 1.
 */
async function generateCandidates(m: Loaded, task: GenerateTask, started: number): Promise<GenerateResult> {
  const promptIds = buildPrompt(m, task);
  const o = task.options;
  const n = task.candidates;
  const room = Math.max(1, m.facts.positions - promptIds.length);
  const maxNew = Math.min(o.max_new_tokens, room);
  const stop = new StopWhen(new Int32Array(task.cancel), task.deadline);
  const clock = new FirstTokenClock();
  const sample = o.temperature > 0;
  random.seed(o.seed ?? Math.floor(Math.random() * 2 ** 31));
  const L = promptIds.length;
  const rep = (row: bigint[]) => BigInt64Array.from(Array.from({ length: n }, () => row).flat());
  const input_ids = new Tensor('int64', rep(promptIds.map(BigInt)), [n, L]);
  const attention_mask = new Tensor('int64', new BigInt64Array(n * L).fill(1n), [n, L]);
  // Greedy as sampling with top-k 1, so that the batch path is one code path.
  const out = (await m.model.generate(
    generateArgs(m, { ...o, temperature: sample ? o.temperature : 1, top_k: sample ? o.top_k : 1 }, true, {
      input_ids,
      attention_mask,
      maxNew,
      streamer: clock,
      stop,
    }),
  )) as Tensor;
  const width = out.dims[1];
  const data = out.data as BigInt64Array;
  const rows = Array.from({ length: n }, (_, r) => {
    const ids: number[] = [];
    let eos = false;
    for (let c = L; c < width; c++) {
      const id = Number(data[r * width + c]);
      if (id === m.eos) {
        eos = true;
        break;
      }
      ids.push(id);
    }
    return { ids, eos };
  });

  // Score prompt + reply (+ </s>) for every row in one forward pass, right-padded.
  const seqs = rows.map((r) => [...promptIds, ...r.ids, ...(r.eos ? [m.eos] : [])]);
  const T = Math.max(...seqs.map((q) => q.length));
  const ids = new BigInt64Array(n * T).fill(BigInt(m.eos));
  const mask = new BigInt64Array(n * T);
  seqs.forEach((q, r) => q.forEach((id, c) => ((ids[r * T + c] = BigInt(id)), (mask[r * T + c] = 1n))));
  const { logits } = (await m.model({
    input_ids: new Tensor('int64', ids, [n, T]),
    attention_mask: new Tensor('int64', mask, [n, T]),
  })) as { logits: Tensor };
  const V = logits.dims[2];
  const lg = logits.data as Float32Array;
  const finish: FinishReason = stop.reason ?? 'length';
  const candidates: GeneratedCandidate[] = rows.map((r, i) => {
    let lp = 0;
    for (let c = L; c < seqs[i].length; c++) lp += logProbAt(lg, (i * T + c - 1) * V, V, seqs[i][c]);
    return {
      text: r.ids.length === 0 ? '' : m.tokenizer.decode(r.ids, { skip_special_tokens: true }).trim(),
      ids: r.ids,
      pieces: piecesOf(m.tokenizer, r.ids),
      logProb: lp,
      scoredTokens: seqs[i].length - L,
      finishReason: r.eos ? 'eos' : finish,
    };
  });
  task.port?.close();
  const first = candidates[0];
  return {
    candidates,
    text: first.text,
    tokens: first.ids.length,
    promptTokens: L,
    ids: first.ids,
    finishReason: first.finishReason,
    firstTokenMs: clock.at === null ? null : clock.at - started,
    totalMs: performance.now() - started,
  };
}

async function generate(task: GenerateTask): Promise<GenerateResult> {
  const started = performance.now();
  const m = await (loaded ??= load());
  if (task.candidates > 0) return generateCandidates(m, task, started);
  const promptIds = buildPrompt(m, task);
  const o = task.options;
  // Never run past the model's position embeddings.
  const room = Math.max(1, m.facts.positions - promptIds.length);
  const maxNew = Math.min(o.max_new_tokens, room);
  const streamer = new TokenStreamer(m.tokenizer, m.eos, (text, index) =>
    task.port?.postMessage({ text, index }),
  );
  const stop = new StopWhen(new Int32Array(task.cancel), task.deadline);
  const sample = o.temperature > 0;
  if (sample) random.seed(o.seed ?? Math.floor(Math.random() * 2 ** 31));
  const input_ids = new Tensor('int64', BigInt64Array.from(promptIds.map(BigInt)), [1, promptIds.length]);
  const attention_mask = new Tensor('int64', new BigInt64Array(promptIds.length).fill(1n), [
    1,
    promptIds.length,
  ]);
  await m.model.generate(
    generateArgs(m, { ...o, temperature: sample ? o.temperature : 1, top_k: sample ? o.top_k : 0 }, sample, {
      input_ids,
      attention_mask,
      maxNew,
      streamer,
      stop,
    }),
  );
  task.port?.close();
  const generated = streamer.ids.length;
  const hitEos = stop.reason === null && generated < maxNew;
  return {
    text: streamer.text().trim(),
    tokens: generated,
    promptTokens: promptIds.length,
    ids: streamer.ids,
    finishReason: stop.reason ?? (hitEos ? 'eos' : 'length'),
    firstTokenMs: streamer.firstTokenAt === null ? null : streamer.firstTokenAt - started,
    totalMs: performance.now() - started,
  };
}

export default async function run(task: GenerateTask | LoadTask): Promise<GenerateResult | ModelFacts> {
  if (task.kind === 'load') return (await (loaded ??= load())).facts;
  return generate(task);
}
