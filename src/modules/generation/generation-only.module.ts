import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { appConfig } from '../../config/app.config';
import { MetricsModule } from '../metrics/metrics.module';
import { ModelsModule } from '../models/models.module';
import { GenerationModule } from './generation.module';

/**
 * The generator on its own (config, metrics, the model registry), for scripts that drive TextGenerator
 * without the HTTP app: eval:generation and the generation benchmarks. Configuration comes from the
 * environment when the context is created.
 */
@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true, cache: false, load: [appConfig] }),
    MetricsModule,
    ModelsModule,
    GenerationModule,
  ],
})
export class GenerationOnlyModule {}
