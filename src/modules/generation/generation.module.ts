import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { generationConfig } from './generation.config';
import { TextGenerator } from './text-generator';

/** The causal language model (our KoGPT2-compatible model, or a real KoGPT2 export) in worker threads. */
@Module({
  imports: [ConfigModule.forFeature(generationConfig)],
  providers: [TextGenerator],
  exports: [TextGenerator],
})
export class GenerationModule {}
