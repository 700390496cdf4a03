/**
 * The seam between the chat policy and a text generator (the generation module's TextGeneratorChat). When a
 * message matches nothing in the corpus well enough, ChatService hands it to the generator if one is bound to
 * CHAT_GENERATOR and ready; otherwise it answers with a polite fallback. HttpExceptions the generator throws
 * (429 when it is busy, 503 while its model loads) reach the client unchanged.
 */
import { ChatTurn } from './chat.types';

export const CHAT_GENERATOR = Symbol('CHAT_GENERATOR');

/** Per-request sampling settings a client may ask for; the generator clamps them to its bounds. */
export interface GenerationOverrides {
  max_new_tokens?: number;
  temperature?: number;
  top_k?: number;
  top_p?: number;
  repetition_penalty?: number;
  no_repeat_ngram_size?: number;
  seed?: number;
}

export interface ChatGenerationRequest {
  message: string;
  /** The session's previous turns, oldest first (at most CHAT_HISTORY_TURNS). */
  history: ChatTurn[];
  /** Aborted when the client goes away (HTTP connection closed, socket disconnected). */
  signal: AbortSignal;
  /** Called for each generated piece of text, in order, so transports can stream it. */
  onToken?: (text: string, index: number) => void;
  options?: GenerationOverrides;
  /** Sample this many replies and return them all (nothing streamed): the chat chooses and streams one. */
  candidates?: number;
}

/** One sampled reply with what the chat needs to rank it (see rankReplies). */
export interface GeneratedReply {
  text: string;
  /** The text each token adds, in order. */
  pieces: string[];
  /** Sum of its tokens' log-probabilities (temperature 1), the final </s> included when produced. */
  logProb: number;
  scoredTokens: number;
  /** eos, length, deadline or cancelled. */
  finishReason: string;
}

export interface ChatGenerator {
  /** False while its model is loading or missing; ChatService then answers with the fallback instead. */
  readonly ready: boolean;
  generate(
    req: ChatGenerationRequest,
  ): Promise<{ text: string; tokens: number; candidates?: GeneratedReply[] }>;
}
