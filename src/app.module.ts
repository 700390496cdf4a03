import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { LoggerModule } from 'nestjs-pino';
import { CommonModule } from './common/common.module';
import { loggerParams } from './common/http/logging';
import { AppConfig, appConfig } from './config/app.config';
import { AuthModule } from './modules/auth/auth.module';
import { ChatModule } from './modules/chat/chat.module';
import { DemoModule } from './modules/demo/demo.module';
import { GenerationModule } from './modules/generation/generation.module';
import { FacesModule } from './modules/faces/faces.module';
import { HealthModule } from './modules/health/health.module';
import { JobsModule } from './modules/jobs/jobs.module';
import { MetricsModule } from './modules/metrics/metrics.module';
import { ModelsModule } from './modules/models/models.module';
import { MnistModule } from './modules/mnist/mnist.module';
import { OpenAiModule } from './modules/openai/openai.module';
import { RedisModule } from './modules/redis/redis.module';
import { UploadsModule } from './modules/uploads/uploads.module';

@Module({
  imports: [
    // Every namespace validates itself on load: a bad variable stops start-up with its name.
    ConfigModule.forRoot({ isGlobal: true, cache: false, load: [appConfig] }),
    LoggerModule.forRootAsync({ inject: [appConfig.KEY], useFactory: (c: AppConfig) => loggerParams(c) }),
    CommonModule,
    // API keys: off until API_KEYS or ADMIN_API_KEYS is set.
    AuthModule,
    MetricsModule,
    // Shared state across instances when REDIS_URL is set; unused otherwise.
    RedisModule,
    ModelsModule,
    HealthModule,
    GenerationModule,
    ChatModule,
    // OpenAI-compatible /v1 routes over the chat.
    OpenAiModule,
    UploadsModule,
    FacesModule,
    MnistModule,
    // Long vision work as background jobs (BullMQ with REDIS_URL, else in this process).
    JobsModule,
    // Last: the page's static files are mounted after every API route.
    DemoModule,
  ],
})
export class AppModule {}
