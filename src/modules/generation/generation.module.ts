import { Global, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { CHAT_GENERATOR } from '../chat/chat-generator';
import { generationConfig } from './generation.config';
import { TextGenerator } from './text-generator';

/**
 * The causal language model (our KoGPT2-compatible model, or a real KoGPT2 export) in worker threads.
 * Global so that the chat policy finds it behind its CHAT_GENERATOR port.
 */
@Global()
@Module({
  imports: [ConfigModule.forFeature(generationConfig)],
  providers: [TextGenerator, { provide: CHAT_GENERATOR, useExisting: TextGenerator }],
  exports: [TextGenerator, CHAT_GENERATOR],
})
export class GenerationModule {}
