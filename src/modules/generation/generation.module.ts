import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { CHAT_GENERATOR } from '../chat/chat-generator';
import { generationConfig } from './generation.config';
import { TOKEN_COUNTER } from '../openai/token-counter';
import { GeneratorTokenCounter } from './generator-token-counter';
import { TextGenerator } from './text-generator';
import { TextGeneratorChat } from './text-generator-chat';

/**
 * The causal language model (our KoGPT2-compatible model, or a real KoGPT2 export) in worker threads. It
 * serves the chat's CHAT_GENERATOR port (TextGeneratorChat) and the OpenAI-compatible API's TOKEN_COUNTER
 * (the generator's tokenizer); ChatModule and OpenAiModule import it.
 */
@Module({
  imports: [ConfigModule.forFeature(generationConfig)],
  providers: [
    TextGenerator,
    TextGeneratorChat,
    { provide: CHAT_GENERATOR, useExisting: TextGeneratorChat },
    { provide: TOKEN_COUNTER, useClass: GeneratorTokenCounter },
  ],
  exports: [TextGenerator, CHAT_GENERATOR, TOKEN_COUNTER],
})
export class GenerationModule {}
