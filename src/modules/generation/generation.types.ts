import type { GenerationOverrides } from '../chat/chat-generator';
/** What crosses the thread boundary between TextGenerator and its worker. */
import type { MessagePort } from 'node:worker_threads';

/**
 * Sampling settings as the worker uses them: every knob of the chat port's GenerationOverrides, resolved
 * (configured defaults, clamped client values), plus min_new_tokens.
 */
export type GenerationOptions = Required<Omit<GenerationOverrides, 'seed'>> & {
  /** End-of-sequence is suppressed until this many tokens (HF's min_new_tokens). */
  min_new_tokens: number;
  /** Makes sampling reproducible. */
  seed?: number;
};

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
  /**
   * 0: one reply, streamed through `port` token by token. N ≥ 1: N replies sampled in one batch and scored
   * (log-probability under the model); nothing is streamed, the caller chooses one and streams it.
   */
  candidates: number;
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

/** One sampled reply. */
export interface GeneratedCandidate {
  text: string;
  ids: number[];
  /** The text each token adds, in order (what a stream of this reply sends). */
  pieces: string[];
  /** Sum of the log-probabilities (temperature 1) of its tokens, the final </s> included when produced. */
  logProb: number;
  /** Tokens scored (the reply's, plus </s> when it ended with one). */
  scoredTokens: number;
  finishReason: FinishReason;
}

export interface GenerateResult {
  /** Every sampled reply when the task asked for several; absent for a single streamed reply. */
  candidates?: GeneratedCandidate[];
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
