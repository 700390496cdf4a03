import { ConfigType } from '@nestjs/config';
import { IsOptional, IsString, Matches } from 'class-validator';
import { defineConfig, Expose } from '../../config/env';

/**
 * Shared state for several instances. Unset REDIS_URL (the default) keeps everything in this process:
 * sessions, rate limits, locks, socket.io rooms and jobs.
 */
export class RedisEnv {
  /** e.g. redis://127.0.0.1:6379/0 or rediss://user:pass@host:6380; unset = single instance, in memory. */
  @Expose()
  @IsOptional()
  @Matches(/^rediss?:\/\/\S+$/, { message: 'REDIS_URL must be a redis:// or rediss:// URL' })
  REDIS_URL?: string;
  /** Prefix of every key, channel and queue this service writes, so instances of other services can share a Redis. */
  @Expose() @IsString() @Matches(/^[\w.:-]{1,64}$/) REDIS_KEY_PREFIX: string = 'ko-ai:';
}

export const redisConfig = defineConfig('redis', RedisEnv);
export type RedisConfig = ConfigType<typeof redisConfig>;
