import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { AppEnv } from '../../../config/app.config';
import { loadEnv } from '../../../config/env';
import { ChatEnv, EMBEDDERS, EmbedderKind } from '../chat.config';
import { loadSentenceEncoder, SentenceEncoder } from '../embedding/sentence-encoder';
import { buildRetrieval, Retrieval } from '../retrieval';
import { embedderFactory, retrievalSettings } from '../retrieval-settings';

/** Shared by eval:chat and calibrate:chat: the service's own configuration, corpus and embedders. */
export interface EvalContext {
  app: AppEnv;
  chat: ChatEnv;
  encoder?: SentenceEncoder;
  /** Why the encoder could not be loaded, when it could not. */
  encoderError?: string;
}

export function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

export async function evalContext(): Promise<EvalContext> {
  const app = loadEnv(AppEnv);
  const chat = loadEnv(ChatEnv);
  try {
    return { app, chat, encoder: await loadSentenceEncoder(app.MODELS_DIR, chat.CHAT_ENCODER_MODEL) };
  } catch (err) {
    return { app, chat, encoderError: (err as Error).message };
  }
}

/** The embedders to compare: --embedders a,b or all that can run (the encoder ones need the model). */
export function embedderKinds(ctx: EvalContext): EmbedderKind[] {
  const asked = arg('embedders')
    ?.split(',')
    .map((s) => s.trim()) as EmbedderKind[] | undefined;
  const kinds = asked ?? [...EMBEDDERS];
  for (const k of kinds) if (!EMBEDDERS.includes(k)) throw new Error(`unknown embedder ${k}`);
  return kinds.filter((k) => k === 'hashed-ngram' || ctx.encoder);
}

/** The served corpus and out-of-scope anchors, indexed with one embedder (in a temporary index folder). */
export async function retrievalFor(ctx: EvalContext, kind: EmbedderKind): Promise<Retrieval> {
  const chat = {
    ...ctx.chat,
    CHAT_EMBEDDER: kind,
    CHAT_INDEX_DIR: mkdtempSync(path.join(tmpdir(), 'chat-eval-')),
    // Every question is embedded and searched (the times are those of a new message).
    CHAT_RETRIEVAL_CACHE: 0,
  };
  return buildRetrieval(retrievalSettings(ctx.app, chat), embedderFactory(chat, ctx.encoder), (m) =>
    console.error(m),
  );
}

export function readJsonl<T>(file: string): T[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T);
}

export function sharedDataset(ctx: EvalContext, ...parts: string[]): string | undefined {
  const p = path.resolve(ctx.chat.CORPUS_DIR, '..', '..', 'shared', 'datasets', ...parts);
  return existsSync(p) ? p : undefined;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}
