/** What crosses the thread boundary between TextGenerator and its worker. */
import type { MessagePort } from 'node:worker_threads';

export interface GenerationOptions {
  max_new_tokens: number;
  /** End-of-sequence is suppressed until this many tokens (HF's min_new_tokens). */
  min_new_tokens: number;
  /** 0 = greedy decoding. */
  temperature: number;
  top_k: number;
  top_p: number;
  repetition_penalty: number;
  no_repeat_ngram_size: number;
  /** Makes sampling reproducible. */
  seed?: number;
}

export interface ChatTurnText {
  user: string;
  bot: string;
}

export interface GenerateTask {
  kind: 'generate';
  message: string;
  history: ChatTurnText[];
  contextTokens: number;
  options: GenerationOptions;
  deadline: number;
  /** Int32Array over a SharedArrayBuffer: the main thread sets [0] = 1 to cancel. */
  cancel: SharedArrayBuffer;
  /** Receives { index, text } per token. */
  port?: MessagePort;
}

export interface LoadTask {
  kind: 'load';
}

export type FinishReason = 'eos' | 'length' | 'deadline' | 'cancelled';

export interface GenerateResult {
  text: string;
  tokens: number;
  promptTokens: number;
  ids: number[];
  finishReason: FinishReason;
  firstTokenMs: number | null;
  totalMs: number;
}

export interface ModelFacts {
  modelType: string;
  parameters: number | null;
  layers: number;
  heads: number;
  embedding: number;
  positions: number;
  vocabSize: number;
  tokenizer: { class: string; vocabSize: number; specialTokens: string[] };
}

export interface WorkerInit {
  modelsDir: string;
  model: string;
}
