import { ConfigType } from '@nestjs/config';
import { IsString, Matches } from 'class-validator';
import { defineConfig, Expose } from '../../config/env';

export class OpenAiEnv {
  /** The model id GET /v1/models lists and POST /v1/chat/completions expects in `model`. */
  @Expose() @Matches(/^[\w.:-]{1,64}$/) @IsString() OPENAI_MODEL_ID: string = 'ko-chat';
}

export const openAiConfig = defineConfig('openai', OpenAiEnv);
export type OpenAiConfig = ConfigType<typeof openAiConfig>;
