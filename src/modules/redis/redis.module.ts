import { Global, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { RedisConnections } from './redis-connections';
import { redisConfig } from './redis.config';

/** Redis connections for the modules that share state across instances (only used when REDIS_URL is set). */
@Global()
@Module({
  imports: [ConfigModule.forFeature(redisConfig)],
  providers: [RedisConnections],
  exports: [RedisConnections],
})
export class RedisModule {}
