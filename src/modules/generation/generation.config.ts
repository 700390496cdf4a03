import { ConfigType } from '@nestjs/config';
import { IsBoolean, IsInt, IsNumber, IsString, Max, Min } from 'class-validator';
import { defineConfig, EnvBoolean, Expose } from '../../config/env';

export class GenerationEnv {
  /** Folder under MODELS_DIR with config.json, tokenizer.json and onnx/model.onnx; "none" disables generation. */
  @Expose() @IsString() GENERATOR_MODEL: string = 'ko-chat-gpt2';
  /** Whether /health/ready waits for the generator. */
  @Expose() @EnvBoolean() @IsBoolean() GENERATOR_REQUIRED: boolean = false;
  /** Worker threads, each running one generation at a time (so also the number of concurrent generations). */
  @Expose() @IsInt() @Min(1) @Max(16) GENERATOR_WORKERS: number = 1;
  /** Generations allowed to wait for a worker; beyond it requests get 429. */
  @Expose() @IsInt() @Min(0) @Max(1000) GENERATOR_MAX_QUEUE: number = 4;
  /** Upper bound for max_new_tokens, whatever a client asks. */
  @Expose() @IsInt() @Min(1) @Max(512) GENERATOR_MAX_NEW_TOKENS: number = 64;
  /** Per-request deadline: generation stops there and returns what it has. */
  @Expose() @IsInt() @Min(100) GENERATOR_TIMEOUT_MS: number = 20_000;
  /** Token budget for the prompt (conversation history included, newest turns kept). */
  @Expose() @IsInt() @Min(8) GENERATOR_CONTEXT_TOKENS: number = 64;
  /** Sampling defaults (clients may override within bounds). 0 temperature = greedy. */
  @Expose() @IsNumber() @Min(0) @Max(2) GENERATOR_TEMPERATURE: number = 0.8;
  @Expose() @IsInt() @Min(0) @Max(1000) GENERATOR_TOP_K: number = 40;
  @Expose() @IsNumber() @Min(0) @Max(1) GENERATOR_TOP_P: number = 0.9;
  @Expose() @IsNumber() @Min(1) @Max(3) GENERATOR_REPETITION_PENALTY: number = 1.2;
  @Expose() @IsInt() @Min(0) @Max(10) GENERATOR_NO_REPEAT_NGRAM_SIZE: number = 3;
  /** Upper bound on the replies sampled in one batch for the chat to choose from. */
  @Expose() @IsInt() @Min(1) @Max(16) GENERATOR_MAX_CANDIDATES: number = 8;
}

export const generationConfig = defineConfig('generation', GenerationEnv);
export type GenerationConfig = ConfigType<typeof generationConfig>;
