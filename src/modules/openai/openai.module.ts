import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { chatConfig } from '../chat/chat.config';
import { ChatModule } from '../chat/chat.module';
import { GenerationModule } from '../generation/generation.module';
import { ChatCompletionsService } from './chat-completions.service';
import { openAiConfig } from './openai.config';
import { OpenAiController } from './openai.controller';

/**
 * OpenAI-compatible API (`/v1/models`, `/v1/chat/completions`), thin over the chat policy. Token counts come
 * from TOKEN_COUNTER, which the generation module binds to the generator's tokenizer.
 */
@Module({
  imports: [
    ConfigModule.forFeature(openAiConfig),
    ConfigModule.forFeature(chatConfig),
    ChatModule,
    GenerationModule,
  ],
  controllers: [OpenAiController],
  providers: [ChatCompletionsService],
})
export class OpenAiModule {}
