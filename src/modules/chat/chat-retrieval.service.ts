import {
  HttpException,
  Inject,
  Injectable,
  Logger,
  ServiceUnavailableException,
  UnprocessableEntityException,
} from '@nestjs/common';
import * as path from 'node:path';
import { AppConfig, appConfig } from '../../config/app.config';
import { ModelHandle, ModelRegistry } from '../models/model-registry';
import { ChatConfig, chatConfig } from './chat.config';
import { CorpusError } from './corpus/corpus-loader';
import { ENCODER_HINT, loadSentenceEncoder, SentenceEncoder } from './embedding/sentence-encoder';
import { buildRetrieval, Retrieval, RetrievalSettings } from './retrieval';
import { embedderFactory, retrievalSettings, usesEncoder } from './retrieval-settings';

export const RETRIEVAL_MODEL = 'chat-retrieval';
export const ENCODER_MODEL = 'chat-encoder';

/**
 * Owns the chat's retrieval index as a model of the registry (required: /health/ready waits for it), and the
 * sentence encoder when CHAT_EMBEDDER=transformer. A reload builds the next index beside the serving one and
 * swaps it in one step; requests already holding the old one finish with it.
 */
@Injectable()
export class ChatRetrievalService {
  private readonly logger = new Logger('ChatRetrieval');
  readonly settings: RetrievalSettings;
  readonly handle: ModelHandle<Retrieval>;
  readonly encoder?: ModelHandle<SentenceEncoder>;
  /** A retrieval built by reload(), waiting for the registry to take it. */
  private next?: Retrieval;
  private reloads: Promise<unknown> = Promise.resolve();

  constructor(
    registry: ModelRegistry,
    @Inject(appConfig.KEY) app: AppConfig,
    @Inject(chatConfig.KEY) private readonly config: ChatConfig,
  ) {
    this.settings = retrievalSettings(app, config);
    if (usesEncoder(config)) {
      this.encoder = registry.register<SentenceEncoder>({
        name: ENCODER_MODEL,
        task: 'feature-extraction',
        location: path.resolve(app.MODELS_DIR, config.CHAT_ENCODER_MODEL),
        required: true,
        hint: ENCODER_HINT,
        load: () => loadSentenceEncoder(app.MODELS_DIR, config.CHAT_ENCODER_MODEL),
        describe: (e) => ({
          modelType: e.modelType,
          dim: e.dim,
          pooling: 'mean',
          sha256: e.sha256,
          ...(e.scores ? { scores: e.scores } : {}),
        }),
        dispose: (e) => e.dispose(),
      });
    }
    this.handle = registry.register<Retrieval>({
      name: RETRIEVAL_MODEL,
      task: 'sentence-similarity',
      location: this.settings.indexDir,
      required: true,
      hint: 'check CHAT_CORPUS_FILES and CORPUS_DIR',
      load: () => this.take(),
      describe: (r) => r.describe(),
    });
  }

  /** The serving retrieval; 503 while it loads or when it failed. */
  get(): Retrieval {
    return this.handle.get();
  }

  /**
   * Re-reads the corpus files and swaps in their index (loaded from the index folder when its fingerprint is
   * there, else built). Reloads run one at a time; a failed one leaves the serving index in place.
   */
  reload(): Promise<Retrieval> {
    const run = this.reloads.then(async () => {
      // Let the first load finish first (load() would start another one on a loaded model).
      if (this.handle.status === 'loading') await this.handle.load();
      let next: Retrieval;
      try {
        next = await this.build();
      } catch (err) {
        throw explain(err);
      }
      this.next = next;
      await this.handle.load();
      if (this.handle.tryGet() !== next)
        throw new ServiceUnavailableException('The new chat index could not be swapped in.');
      this.logger.log(`corpus reloaded: ${next.size} entries, index ${next.origin} in ${next.loadMs} ms`);
      return next;
    });
    this.reloads = run.catch(() => undefined);
    return run;
  }

  private take(): Promise<Retrieval> {
    const next = this.next;
    this.next = undefined;
    return next ? Promise.resolve(next) : this.build();
  }

  private async build(): Promise<Retrieval> {
    let encoder: SentenceEncoder | undefined;
    if (this.encoder) {
      // Loaded once: loading again would dispose the session the serving index still embeds with.
      if (!this.encoder.isReady) await this.encoder.load();
      encoder = this.encoder.get();
    }
    return buildRetrieval(this.settings, embedderFactory(this.config, encoder), (m) => this.logger.warn(m));
  }
}

function explain(err: unknown): Error {
  if (err instanceof HttpException) return err;
  if (err instanceof CorpusError)
    return new UnprocessableEntityException(`The corpus cannot be loaded: ${err.message}.`);
  return err instanceof Error ? err : new Error(String(err));
}
