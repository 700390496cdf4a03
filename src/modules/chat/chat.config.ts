import { ConfigType } from '@nestjs/config';
import {
  ArrayNotEmpty,
  IsArray,
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
} from 'class-validator';
import { defineConfig, EnvList, Expose } from '../../config/env';
import { INDEX_KINDS, IndexKind } from './index/corpus-index';

export const EMBEDDERS = ['hashed-ngram', 'transformer'] as const;
export type EmbedderKind = (typeof EMBEDDERS)[number];

/**
 * The score threshold of each embedder when CHAT_MIN_SCORE is unset. hashed-ngram: measured with
 * `npm run eval:chat` on the default corpus: 96.9% of the eval questions are answered with the right intent,
 * and 12% of out-of-scope questions (ChatbotData's breakup and love rows) would be answered rather than sent
 * to the generator or fallback (0.35: 95.0% / 7%; 0.25: 98.1% / 22%). transformer: a starting point for
 * sentence encoders such as ko-sroberta-multitask; measure yours with the same command.
 */
export const DEFAULT_MIN_SCORE: Record<EmbedderKind, number> = {
  'hashed-ngram': 0.3,
  transformer: 0.6,
};

/** Variables of the chat module (namespace "chat"). */
export class ChatEnv {
  /** Corpus files, relative to CORPUS_DIR unless absolute: `.jsonl` (ours) or `.csv` (ChatbotData `Q,A,label`). */
  @Expose()
  @EnvList()
  @IsArray()
  @ArrayNotEmpty()
  @IsString({ each: true })
  CHAT_CORPUS_FILES: string[] = ['ko-smalltalk.jsonl'];
  /** Where built FAISS indexes are kept; unset: `<CORPUS_DIR>/.index`. */
  @Expose() @IsOptional() @IsString() CHAT_INDEX_DIR?: string;
  @Expose() @IsIn(EMBEDDERS) CHAT_EMBEDDER: EmbedderKind = 'hashed-ngram';
  /** Folder under MODELS_DIR of the sentence encoder (Hugging Face layout) for CHAT_EMBEDDER=transformer. */
  @Expose()
  @Matches(/^(?!.*\.\.)[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)?$/, {
    message: 'CHAT_ENCODER_MODEL must be a folder name under MODELS_DIR (optionally owner/name)',
  })
  CHAT_ENCODER_MODEL: string = 'ko-sroberta-multitask';
  /** Vector length of the hashed-ngram embedder. */
  @Expose() @IsInt() @Min(64) @Max(65536) CHAT_EMBED_DIM: number = 2048;
  @Expose() @IsIn(INDEX_KINDS) CHAT_INDEX: IndexKind = 'flat';
  @Expose() @IsInt() @Min(4) @Max(256) CHAT_HNSW_M: number = 32;
  @Expose() @IsInt() @Min(8) @Max(4096) CHAT_HNSW_EF_CONSTRUCTION: number = 80;
  @Expose() @IsInt() @Min(1) @Max(4096) CHAT_HNSW_EF_SEARCH: number = 64;
  /** IVF lists; 0: about 4√n. */
  @Expose() @IsInt() @Min(0) @Max(1_000_000) CHAT_IVF_NLIST: number = 0;
  @Expose() @IsInt() @Min(1) @Max(1_000_000) CHAT_IVF_NPROBE: number = 16;
  /** Nearest questions looked at per message. */
  @Expose() @IsInt() @Min(1) @Max(100) CHAT_TOP_K: number = 5;
  /** Cosine similarity a match needs to be answered from the corpus; unset: the embedder's default. */
  @Expose() @IsOptional() @IsNumber() @Min(-1) @Max(1) CHAT_MIN_SCORE?: number;
  /**
   * Corpus files rank in CHAT_CORPUS_FILES order: an earlier file's match that clears CHAT_MIN_SCORE wins
   * unless a later file matches better by more than this. 0: simply the best match of any file.
   */
  @Expose() @IsNumber() @Min(0) @Max(2) CHAT_PRIORITY_MARGIN: number = 0.5;
  /** Turns of history kept per session (and given to the generator). */
  @Expose() @IsInt() @Min(1) @Max(1000) CHAT_HISTORY_TURNS: number = 10;
  /** A session idle this long is forgotten. */
  @Expose() @IsInt() @Min(1) CHAT_SESSION_TTL_S: number = 1800;
  /** Sessions kept in memory; beyond, the least recently used is forgotten. */
  @Expose() @IsInt() @Min(1) CHAT_MAX_SESSIONS: number = 10_000;
  /**
   * A message waits at most this long for the previous message of its conversation to be answered (one at
   * a time per session, across instances with REDIS_URL); then 429.
   */
  @Expose() @IsInt() @Min(100) @Max(600_000) CHAT_LOCK_WAIT_MS: number = 30_000;
  /** Messages per minute per socket.io connection; 0 disables. */
  @Expose() @IsInt() @Min(0) CHAT_RATE_LIMIT_PER_MIN: number = 30;
  /** Messages per minute per client IP, HTTP and socket.io together; 0 disables. */
  @Expose() @IsInt() @Min(0) CHAT_RATE_LIMIT_IP_PER_MIN: number = 120;
}

export const chatConfig = defineConfig('chat', ChatEnv);
export type ChatConfig = ConfigType<typeof chatConfig>;

export function minScore(config: ChatConfig): number {
  return config.CHAT_MIN_SCORE ?? DEFAULT_MIN_SCORE[config.CHAT_EMBEDDER];
}
