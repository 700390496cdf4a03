import {
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
  ServiceUnavailableException,
} from '@nestjs/common';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { MetricsService } from '../metrics/metrics.service';

export type ModelStatus = 'loading' | 'ready' | 'missing' | 'failed';

/** Thrown by a loader when the model's files are simply not there (status `missing`, not `failed`). */
export class ModelMissingError extends Error {}

export interface ModelSpec<T> {
  /** Unique name, e.g. "mnist-cnn". */
  name: string;
  /** What it does, e.g. "image-classification", "text-generation". */
  task: string;
  /** The model's folder or file on disk, reported in /models with its files and size. */
  location?: string;
  /** Required models gate /health/ready; optional ones only make their own routes answer 503. */
  required: boolean;
  /** How to get the model when it is missing; shown in /models and in 503 messages. */
  hint?: string;
  load(): Promise<T>;
  /** Extra facts for /models (parameters, tokenizer, input shape...). */
  describe?(model: T): Record<string, unknown>;
  dispose?(model: T): Promise<void> | void;
}

export interface ModelFile {
  path: string;
  bytes: number;
}

export interface ModelReport {
  name: string;
  task: string;
  required: boolean;
  status: ModelStatus;
  folder: string | null;
  files: ModelFile[];
  sizeBytes: number;
  loadTimeMs: number | null;
  error: string | null;
  details: Record<string, unknown>;
}

/** A loaded-or-not model. `get()` is what request handlers call: it answers 503 until the model is ready. */
export class ModelHandle<T> {
  status: ModelStatus = 'loading';
  error: string | null = null;
  loadTimeMs: number | null = null;
  private model?: T;
  private loading?: Promise<void>;

  constructor(
    readonly spec: ModelSpec<T>,
    private readonly logger: Logger,
  ) {}

  get isReady(): boolean {
    return this.status === 'ready';
  }

  get(): T {
    if (this.status === 'ready' && this.model !== undefined) return this.model;
    throw new ServiceUnavailableException(this.unavailableMessage());
  }

  /** The model if ready, else undefined; for callers with a fallback. */
  tryGet(): T | undefined {
    return this.status === 'ready' ? this.model : undefined;
  }

  unavailableMessage(): string {
    const what = `Model "${this.spec.name}" (${this.spec.task})`;
    switch (this.status) {
      case 'loading':
        return `${what} is still loading; try again shortly.`;
      case 'missing':
        return `${what} is not installed${this.spec.hint ? `: ${this.spec.hint}` : '.'}`;
      default:
        return `${what} failed to load: ${this.error ?? 'unknown error'}`;
    }
  }

  /** Loads (or reloads) the model; concurrent calls share one load. Never throws. */
  load(): Promise<void> {
    this.loading ??= this.doLoad().finally(() => (this.loading = undefined));
    return this.loading;
  }

  /** Resolves once a load in progress (or the first one, not yet started) is over; never reloads. */
  settle(): Promise<void> {
    return this.loading ?? (this.status === 'loading' ? this.load() : Promise.resolve());
  }

  private async doLoad(): Promise<void> {
    const started = performance.now();
    const previous = this.model;
    if (!previous) this.status = 'loading';
    try {
      const model = await this.spec.load();
      this.model = model;
      this.status = 'ready';
      this.error = null;
      this.loadTimeMs = Math.round(performance.now() - started);
      this.logger.log(`model ${this.spec.name} ready in ${this.loadTimeMs} ms`);
      if (previous !== undefined && previous !== model) await this.spec.dispose?.(previous);
    } catch (err) {
      if (previous !== undefined) {
        // A failed reload keeps serving the model that worked.
        this.logger.error(`model ${this.spec.name} reload failed, keeping the loaded one: ${String(err)}`);
        return;
      }
      this.status = err instanceof ModelMissingError ? 'missing' : 'failed';
      this.error = err instanceof Error ? err.message : String(err);
      const log = this.spec.required ? 'error' : 'warn';
      this.logger[log](`model ${this.spec.name} ${this.status}: ${this.error}`);
    }
  }

  async dispose(): Promise<void> {
    // A shutdown during a load releases what the load brings (its worker pool would otherwise live on).
    await this.loading;
    const model = this.model;
    this.model = undefined;
    if (this.status === 'ready') this.status = 'loading';
    if (model !== undefined) await this.spec.dispose?.(model);
  }

  describe(): Record<string, unknown> {
    if (this.model === undefined || !this.spec.describe) return {};
    try {
      return this.spec.describe(this.model);
    } catch {
      return {};
    }
  }
}

/**
 * Knows every model of the service. Modules register their models when they are created; loading
 * starts once the application has bootstrapped, in the background, so the HTTP server is up (and
 * /health/ready says what is missing) while models load.
 */
@Injectable()
export class ModelRegistry implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ModelRegistry.name);
  private readonly handles = new Map<string, ModelHandle<unknown>>();
  private started = false;

  constructor(private readonly metrics: MetricsService) {}

  register<T>(spec: ModelSpec<T>): ModelHandle<T> {
    if (this.handles.has(spec.name)) throw new Error(`model "${spec.name}" is registered twice`);
    const handle = new ModelHandle<T>(spec, this.logger);
    this.handles.set(spec.name, handle as ModelHandle<unknown>);
    if (this.started) void handle.load();
    return handle;
  }

  onApplicationBootstrap(): void {
    this.started = true;
    for (const handle of this.handles.values()) void handle.load();
  }

  /** Resolves when no model is loading any more (ready, missing or failed). */
  async settled(): Promise<void> {
    for (const h of this.handles.values()) await h.settle();
  }

  /** Time an inference and record it in the inference-duration histogram. */
  async timeInference<R>(model: string, work: () => Promise<R>): Promise<R> {
    const end = this.metrics.inferenceDuration.startTimer({ model });
    try {
      return await work();
    } finally {
      end();
    }
  }

  readiness(): { ready: boolean; notReady: { name: string; status: ModelStatus; reason: string }[] } {
    const notReady = [...this.handles.values()]
      .filter((h) => h.spec.required && !h.isReady)
      .map((h) => ({ name: h.spec.name, status: h.status, reason: h.unavailableMessage() }));
    return { ready: notReady.length === 0, notReady };
  }

  async report(): Promise<ModelReport[]> {
    return Promise.all(
      [...this.handles.values()].map(async (h) => {
        const files = h.spec.location ? await listFiles(h.spec.location) : [];
        return {
          name: h.spec.name,
          task: h.spec.task,
          required: h.spec.required,
          status: h.status,
          folder: h.spec.location ? path.relative(process.cwd(), h.spec.location) || '.' : null,
          files,
          sizeBytes: files.reduce((s, f) => s + f.bytes, 0),
          loadTimeMs: h.loadTimeMs,
          error: h.status === 'ready' ? null : h.status === 'loading' ? null : h.unavailableMessage(),
          details: h.describe(),
        };
      }),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    // Releases ONNX sessions and worker pools.
    await Promise.allSettled([...this.handles.values()].map((h) => h.dispose()));
  }
}

async function listFiles(location: string): Promise<ModelFile[]> {
  const out: ModelFile[] = [];
  async function walk(p: string): Promise<void> {
    const st = await fs.stat(p).catch(() => null);
    if (!st) return;
    if (st.isFile()) {
      out.push({ path: path.relative(process.cwd(), p), bytes: st.size });
      return;
    }
    if (!st.isDirectory()) return;
    for (const entry of await fs.readdir(p)) await walk(path.join(p, entry));
  }
  await walk(location);
  return out;
}
