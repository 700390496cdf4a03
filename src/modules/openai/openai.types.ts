import type { ChatReply, FinishReason } from '../chat/chat.service';

/** Where an answer came from: what POST /chat reports, as an extension field of the OpenAI objects. */
export type KoChatExtension = Pick<
  ChatReply,
  'source' | 'intent' | 'score' | 'matched' | 'reason' | 'latencyMs'
> & {
  /** What usage counts: the generator's tokenizer, or "characters" without one. */
  usageUnit: string;
};

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  system_fingerprint: null;
  choices: {
    index: 0;
    message: { role: 'assistant'; content: string; refusal: null };
    logprobs: null;
    finish_reason: FinishReason;
  }[];
  usage: Usage;
  ko_chat: KoChatExtension;
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  system_fingerprint: null;
  choices: {
    index: 0;
    delta: { role?: 'assistant'; content?: string };
    logprobs: null;
    finish_reason: FinishReason | null;
  }[];
  usage?: Usage | null;
  ko_chat?: KoChatExtension;
}

export interface ModelObject {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}
