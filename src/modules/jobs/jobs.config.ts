import { ConfigType } from '@nestjs/config';
import { IsBoolean, IsInt, Max, Min } from 'class-validator';
import { defineConfig, EnvBoolean, Expose } from '../../config/env';

/**
 * Variables of the jobs module (long vision work: `POST /jobs/mosaic`, `POST /jobs/mnist`). Jobs live in
 * this process unless REDIS_URL is set (redis.config.ts), in which case they are BullMQ jobs shared by every
 * instance and survive the death of the instance running them.
 */
export class JobsEnv {
  /** Jobs one instance runs at the same time; within a job, files go FACES_WORKERS at a time. */
  @Expose() @IsInt() @Min(1) @Max(64) JOBS_CONCURRENCY: number = 1;
  /** Most files one job may take; a larger request gets 422. */
  @Expose() @IsInt() @Min(1) @Max(100_000) JOBS_MAX_FILES: number = 10_000;
  /** Finished jobs remembered (completed ones, and as many failed ones); the oldest are forgotten first. */
  @Expose() @IsInt() @Min(1) @Max(100_000) JOBS_KEEP_COMPLETED: number = 100;
  /**
   * With REDIS_URL: whether this instance runs jobs (false: it only takes requests and forwards events).
   * Without Redis jobs always run in the process that received them.
   */
  @Expose() @EnvBoolean() @IsBoolean() JOBS_WORKER: boolean = true;
  /**
   * With REDIS_URL: how long a running job's lock lives without being renewed (it is renewed every half of
   * it). A job whose instance died is taken over by another one after this long.
   */
  @Expose() @IsInt() @Min(1000) @Max(3_600_000) JOBS_LOCK_DURATION_MS: number = 30_000;
  /** With REDIS_URL: how often each worker looks for jobs whose lock expired (their instance died). */
  @Expose() @IsInt() @Min(500) @Max(3_600_000) JOBS_STALLED_INTERVAL_MS: number = 30_000;
  /** With REDIS_URL: how many times one job may be taken over after a crash before it is marked failed. */
  @Expose() @IsInt() @Min(0) @Max(100) JOBS_MAX_STALLED: number = 3;
}

export const jobsConfig = defineConfig('jobs', JobsEnv);
export type JobsConfig = ConfigType<typeof jobsConfig>;
