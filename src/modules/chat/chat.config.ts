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
import { PolicyCalibration } from './policy/reply-policy';

export const EMBEDDERS = ['hashed-ngram', 'transformer', 'fusion'] as const;
export type EmbedderKind = (typeof EMBEDDERS)[number];

/**
 * The policy's thresholds for each embedder when the variables are unset, calibrated by
 * `npm run calibrate:chat` on the training files only (leave-one-out over corpus/ko-smalltalk.jsonl and
 * corpus/out-of-scope.jsonl); the eval sets in corpus/eval/ are never used to choose them.
 */
export const DEFAULT_CALIBRATION: Record<EmbedderKind, PolicyCalibration> = {
  'hashed-ngram': { answer: 0.3, margin: 0.15, outOfScope: 0.2 },
  transformer: { answer: 0.2, margin: 0.025, outOfScope: 0.55 },
  fusion: { answer: 0.2, margin: 0.05, outOfScope: 0.3 },
};

/** Variables of the chat module (namespace "chat"). */
export class ChatEnv {
  /** The folder of the corpus files, eval sets and (by default) the index folder. */
  @Expose() @IsString() CORPUS_DIR: string = 'corpus';
  /** Corpus files, relative to CORPUS_DIR unless absolute: `.jsonl` (ours) or `.csv` (ChatbotData `Q,A,label`). */
  @Expose()
  @EnvList()
  @IsArray()
  @ArrayNotEmpty()
  @IsString({ each: true })
  CHAT_CORPUS_FILES: string[] = ['ko-smalltalk.jsonl'];
  /** Where built FAISS indexes are kept; unset: `<CORPUS_DIR>/.index`. */
  @Expose() @IsOptional() @IsString() CHAT_INDEX_DIR?: string;
  /** The learned encoder wins on the hard paraphrases (0.23 against 0.03 for n-grams): measured by npm run eval:chat, see models/ko-sentence-encoder/EVAL.md. */
  @Expose() @IsIn(EMBEDDERS) CHAT_EMBEDDER: EmbedderKind = 'transformer';
  /** Weight of the n-gram similarity in CHAT_EMBEDDER=fusion (the encoder's is 1 − this). */
  @Expose() @IsNumber() @Min(0) @Max(1) CHAT_FUSION_WEIGHT: number = 0.5;
  /**
   * Requests the bot declines (knowledge, tasks, code…), relative to CORPUS_DIR unless absolute; a message
   * nearer to them than to the corpus gets the fallback with reason out_of_scope. `none`: no out-of-scope side.
   */
  @Expose() @IsString() CHAT_OUT_OF_SCOPE_FILE: string = 'out-of-scope.jsonl';
  /** Folder under MODELS_DIR of the sentence encoder (Hugging Face layout) for CHAT_EMBEDDER=transformer. */
  @Expose()
  @Matches(/^(?!.*\.\.)[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)?$/, {
    message: 'CHAT_ENCODER_MODEL must be a folder name under MODELS_DIR (optionally owner/name)',
  })
  CHAT_ENCODER_MODEL: string = 'ko-sentence-encoder';
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
  /**
   * Messages (exact text) whose retrieval result is remembered, least recently used dropped first: the same
   * greeting or question again skips the encoder and the search. Cleared by a corpus reload; 0: off.
   */
  @Expose() @IsInt() @Min(0) @Max(1_000_000) CHAT_RETRIEVAL_CACHE: number = 1000;
  /** Cosine similarity a match needs to be answered from the corpus; unset: the embedder's calibration. */
  @Expose() @IsOptional() @IsNumber() @Min(-1) @Max(1) CHAT_MIN_SCORE?: number;
  /** How much closer than the nearest out-of-scope request a match must be; unset: the calibration. */
  @Expose() @IsOptional() @IsNumber() @Min(-2) @Max(2) CHAT_ANSWER_MARGIN?: number;
  /** Similarity to an out-of-scope request at which an unanswered message is declined; unset: the calibration. */
  @Expose() @IsOptional() @IsNumber() @Min(-1) @Max(1) CHAT_OUT_OF_SCOPE_MIN_SCORE?: number;
  /**
   * Corpus files rank in CHAT_CORPUS_FILES order: an earlier file's match that clears CHAT_MIN_SCORE wins
   * unless a later file matches better by more than this. 0: simply the best match of any file.
   */
  @Expose() @IsNumber() @Min(0) @Max(2) CHAT_PRIORITY_MARGIN: number = 0.5;
  /**
   * Replies the generator samples per message (one batch); the chat sends the best by rankReplies, or the
   * fallback (reason low_quality) when it has a malformed-text issue or scores under CHAT_REPLY_GATE. 1 with
   * temperature 0: greedy.
   */
  @Expose() @IsInt() @Min(1) @Max(8) CHAT_REPLY_CANDIDATES: number = 4;
  /** Weight of the message–reply similarity in a generated reply's score. */
  @Expose() @IsNumber() @Min(0) @Max(10) CHAT_REPLY_RELEVANCE_WEIGHT: number = 1;
  /**
   * The score a generated reply needs to be sent (mean log-probability + weight · similarity − penalties);
   * calibrated by `npm run eval:generation -- --calibrate` on half of the held-out ChatbotData questions. For
   * the model of 2026-12-02 that gave -6, the bottom of its range: the score did not tell acceptable replies
   * from the others better than sending them all (0.573 either way), so what gates is the malformed-text rule.
   * -100 turns the gate off: any reply is sent, malformed or not (tests of the plumbing).
   */
  @Expose() @IsNumber() @Min(-100) @Max(100) CHAT_REPLY_GATE: number = -6;
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

export function calibration(config: ChatConfig): PolicyCalibration {
  const d = DEFAULT_CALIBRATION[config.CHAT_EMBEDDER];
  return {
    answer: config.CHAT_MIN_SCORE ?? d.answer,
    margin: config.CHAT_ANSWER_MARGIN ?? d.margin,
    outOfScope: config.CHAT_OUT_OF_SCOPE_MIN_SCORE ?? d.outOfScope,
  };
}

export function minScore(config: ChatConfig): number {
  return calibration(config).answer;
}
