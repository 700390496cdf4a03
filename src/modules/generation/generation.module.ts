import { Global, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { CHAT_GENERATOR } from '../chat/chat-generator';
import { generationConfig } from './generation.config';
import { TOKEN_COUNTER } from '../openai/token-counter';
import { GeneratorTokenCounter } from './generator-token-counter';
import { TextGenerator } from './text-generator';

/**
 * The causal language model (our KoGPT2-compatible model, or a real KoGPT2 export) in worker threads.
 * Global so that the chat policy finds it behind its CHAT_GENERATOR port, and the OpenAI-compatible API its
 * tokenizer behind TOKEN_COUNTER.
 */
@Global()
@Module({
  imports: [ConfigModule.forFeature(generationConfig)],
  providers: [
    TextGenerator,
    { provide: CHAT_GENERATOR, useExisting: TextGenerator },
    { provide: TOKEN_COUNTER, useClass: GeneratorTokenCounter },
  ],
  exports: [TextGenerator, CHAT_GENERATOR, TOKEN_COUNTER],
})
export class GenerationModule {}
