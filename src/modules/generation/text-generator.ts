import { HttpException, HttpStatus, Inject, Injectable, ServiceUnavailableException } from '@nestjs/common';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { Gauge, Histogram } from 'prom-client';
import { workerFile } from '../../common/workers/worker-file';
import { AppConfig, appConfig } from '../../config/app.config';
import { MetricsService } from '../metrics/metrics.service';
import { ModelHandle, ModelMissingError, ModelRegistry } from '../models/model-registry';
import { GenerationConfig, generationConfig } from './generation.config';
import type {
  ChatTurnText,
  GenerateResult,
  GenerateTask,
  GenerationOptions,
  ModelFacts,
} from './generation.types';

export interface GenerateRequest {
  message: string;
  history?: ChatTurnText[];
  /** Client overrides, clamped to the configured bounds. */
  options?: Partial<GenerationOptions>;
  /** Aborts the generation (client disconnected); the worker stops at the next token. */
  signal?: AbortSignal;
  onToken?: (text: string, index: number) => void;
  /** Replies to sample and score in one batch (see GenerateTask.candidates); 1 streams one reply live. */
  candidates?: number;
}

interface Pool {
  piscina: Piscina;
  facts: ModelFacts;
}

const REQUIRED_FILES = ['config.json', 'tokenizer.json', path.join('onnx', 'model.onnx')];

/**
 * The causal language model (GPT-2 / KoGPT2 layout) behind a pool of worker threads, with a bounded
 * queue: beyond GENERATOR_WORKERS running and GENERATOR_MAX_QUEUE waiting, requests get 429 at once
 * rather than piling up.
 */
@Injectable()
export class TextGenerator {
  private readonly handle?: ModelHandle<Pool>;
  private readonly folder: string;
  private readonly timeToFirstToken: Histogram<'model'>;
  private readonly tokensPerSecond: Histogram<'model'>;
  private readonly queueDepth: Gauge<'model'>;
  private readonly running: Gauge<'model'>;
  private inflight = 0;

  constructor(
    @Inject(generationConfig.KEY) private readonly config: GenerationConfig,
    @Inject(appConfig.KEY) app: AppConfig,
    registry: ModelRegistry,
    private readonly metrics: MetricsService,
  ) {
    this.folder = path.resolve(app.MODELS_DIR, config.GENERATOR_MODEL);
    const registers = [metrics.registry];
    this.timeToFirstToken = new Histogram({
      name: 'generation_time_to_first_token_seconds',
      help: 'Time from accepting a generation to its first token.',
      labelNames: ['model'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.tokensPerSecond = new Histogram({
      name: 'generation_tokens_per_second',
      help: 'Decoding speed of each generation.',
      labelNames: ['model'],
      buckets: [5, 10, 25, 50, 100, 200, 400, 800, 1600],
      registers,
    });
    this.queueDepth = new Gauge({
      name: 'generation_queue_depth',
      help: 'Generations waiting for a worker.',
      labelNames: ['model'],
      registers,
    });
    this.running = new Gauge({
      name: 'generation_running',
      help: 'Generations running now.',
      labelNames: ['model'],
      registers,
    });
    if (config.GENERATOR_MODEL.toLowerCase() === 'none') return;
    this.handle = registry.register<Pool>({
      name: config.GENERATOR_MODEL,
      task: 'text-generation',
      location: this.folder,
      required: config.GENERATOR_REQUIRED,
      hint: `put a GPT-2 style ONNX export (config.json, tokenizer.json, onnx/model.onnx) in ${this.folder}; see training/gpt2/README.md`,
      load: () => this.start(),
      describe: (pool) => ({
        ...pool.facts,
        workers: config.GENERATOR_WORKERS,
        maxQueue: config.GENERATOR_MAX_QUEUE,
        maxNewTokens: config.GENERATOR_MAX_NEW_TOKENS,
        contextTokens: config.GENERATOR_CONTEXT_TOKENS,
        timeoutMs: config.GENERATOR_TIMEOUT_MS,
      }),
      dispose: (pool) => pool.piscina.destroy(),
    });
  }

  /** Whether a generator is configured and loaded (the chat policy falls back when not). */
  get ready(): boolean {
    return this.handle?.isReady ?? false;
  }

  get modelName(): string | null {
    return this.handle ? this.config.GENERATOR_MODEL : null;
  }

  private async start(): Promise<Pool> {
    const missing = REQUIRED_FILES.filter((f) => !existsSync(path.join(this.folder, f)));
    if (missing.length > 0) throw new ModelMissingError(`missing ${missing.join(', ')} in ${this.folder}`);
    const script = workerFile(__dirname, 'generation.worker');
    const piscina = new Piscina({
      filename: script.filename,
      workerData: {
        ...script.workerData,
        modelsDir: path.dirname(this.folder),
        model: path.basename(this.folder),
      },
      minThreads: this.config.GENERATOR_WORKERS,
      maxThreads: this.config.GENERATOR_WORKERS,
      concurrentTasksPerWorker: 1,
      maxQueue: this.config.GENERATOR_MAX_QUEUE,
      idleTimeout: 0,
    });
    try {
      // Every worker loads the model now, so the first request does not pay for it.
      const loads = Array.from(
        { length: this.config.GENERATOR_WORKERS },
        () => piscina.run({ kind: 'load' }) as Promise<ModelFacts>,
      );
      const [facts] = await Promise.all(loads);
      return { piscina, facts };
    } catch (err) {
      await piscina.destroy();
      throw err;
    }
  }

  /** Clamp client options into the configured safe bounds. */
  resolveOptions(o: Partial<GenerationOptions> = {}): GenerationOptions {
    const c = this.config;
    const clamp = (v: number | undefined, lo: number, hi: number, dflt: number) =>
      v === undefined || !Number.isFinite(v) ? dflt : Math.min(hi, Math.max(lo, v));
    const maxNew = Math.round(
      clamp(o.max_new_tokens, 1, c.GENERATOR_MAX_NEW_TOKENS, c.GENERATOR_MAX_NEW_TOKENS),
    );
    return {
      max_new_tokens: maxNew,
      min_new_tokens: Math.round(clamp(o.min_new_tokens, 0, maxNew, 0)),
      temperature: clamp(o.temperature, 0, 2, c.GENERATOR_TEMPERATURE),
      top_k: Math.round(clamp(o.top_k, 0, 1000, c.GENERATOR_TOP_K)),
      top_p: clamp(o.top_p, 0, 1, c.GENERATOR_TOP_P),
      repetition_penalty: clamp(o.repetition_penalty, 1, 3, c.GENERATOR_REPETITION_PENALTY),
      no_repeat_ngram_size: Math.round(
        clamp(o.no_repeat_ngram_size, 0, 10, c.GENERATOR_NO_REPEAT_NGRAM_SIZE),
      ),
      seed: o.seed === undefined ? undefined : Math.trunc(o.seed),
    };
  }

  async generate(req: GenerateRequest): Promise<GenerateResult> {
    if (!this.handle)
      throw new ServiceUnavailableException('Text generation is disabled (GENERATOR_MODEL=none).');
    const { piscina } = this.handle.get();
    const model = this.config.GENERATOR_MODEL;
    const capacity = this.config.GENERATOR_WORKERS + this.config.GENERATOR_MAX_QUEUE;
    if (this.inflight >= capacity) throw this.busy();
    if (req.signal?.aborted) throw new HttpException('The request was cancelled.', 499);

    const cancel = new SharedArrayBuffer(4);
    const onAbort = () => Atomics.store(new Int32Array(cancel), 0, 1);
    req.signal?.addEventListener('abort', onAbort, { once: true });
    const { port1, port2 } = new MessageChannel();
    port1.on('message', (m: { text: string; index: number }) => req.onToken?.(m.text, m.index));
    const task: GenerateTask = {
      kind: 'generate',
      message: req.message,
      history: req.history ?? [],
      contextTokens: this.config.GENERATOR_CONTEXT_TOKENS,
      options: this.resolveOptions(req.options),
      candidates:
        req.candidates === undefined
          ? 0
          : Math.max(1, Math.min(this.config.GENERATOR_MAX_CANDIDATES, Math.trunc(req.candidates))),
      deadline: Date.now() + this.config.GENERATOR_TIMEOUT_MS,
      cancel,
      port: port2,
    };
    this.track(+1);
    try {
      const result = (await piscina.run(task, { transferList: [port2] })) as GenerateResult;
      if (result.firstTokenMs !== null) this.timeToFirstToken.observe({ model }, result.firstTokenMs / 1000);
      if (result.tokens > 0 && result.totalMs > 0) {
        this.tokensPerSecond.observe({ model }, result.tokens / (result.totalMs / 1000));
      }
      this.metrics.inferenceDuration.observe({ model }, result.totalMs / 1000);
      // Let the last token messages reach the caller before the final result.
      await new Promise((r) => setImmediate(r));
      return result;
    } catch (err) {
      if (err instanceof Error && /queue is at limit/i.test(err.message)) throw this.busy();
      throw err;
    } finally {
      this.track(-1);
      req.signal?.removeEventListener('abort', onAbort);
      port1.close();
    }
  }

  /** Workers are interchangeable and run one task each, so running/waiting follow from the count. */
  private track(delta: number): void {
    this.inflight += delta;
    const model = this.config.GENERATOR_MODEL;
    this.running.set({ model }, Math.min(this.inflight, this.config.GENERATOR_WORKERS));
    this.queueDepth.set({ model }, Math.max(0, this.inflight - this.config.GENERATOR_WORKERS));
  }

  private busy(): HttpException {
    return new HttpException(
      `The text generator is busy (${this.inflight} generations running or queued); try again in a few seconds.`,
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
}
