import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { hostname } from 'node:os';
import { DiscoveryModule } from '@nestjs/core';
import { RedisConnections } from '../redis/redis-connections';
import { UploadsModule } from '../uploads/uploads.module';
import { BullJobQueue } from './bull-job-queue';
import { InProcessJobQueue } from './in-process-job-queue';
import { JobQueue } from './job-queue';
import { JobRunner } from './job-runner';
import { JobsController } from './jobs.controller';
import { JobsConfig, jobsConfig } from './jobs.config';
import { JobsGateway } from './jobs.gateway';
import { JobsService } from './jobs.service';

/**
 * Long work over uploads as jobs: `GET /jobs[/:id]`, socket.io `/jobs`, and JobsService.create for the
 * features, which each register a JobHandler (`@OnJob('<kind>')`) and declare `POST /jobs/<kind>`. The JobQueue
 * is BullMQ when REDIS_URL is set (shared by the instances, survives a crash), else in memory.
 */
@Module({
  imports: [ConfigModule.forFeature(jobsConfig), DiscoveryModule, UploadsModule],
  controllers: [JobsController],
  providers: [
    JobRunner,
    {
      provide: JobQueue,
      inject: [JobRunner, RedisConnections, jobsConfig.KEY],
      useFactory: (runner: JobRunner, redis: RedisConnections, config: JobsConfig): JobQueue =>
        redis.enabled
          ? new BullJobQueue(runner, redis, {
              concurrency: config.JOBS_CONCURRENCY,
              keepFinished: config.JOBS_KEEP_COMPLETED,
              worker: config.JOBS_WORKER,
              lockDuration: config.JOBS_LOCK_DURATION_MS,
              stalledInterval: config.JOBS_STALLED_INTERVAL_MS,
              maxStalledCount: config.JOBS_MAX_STALLED,
              workerName: `${hostname()}:${process.pid}`,
            })
          : new InProcessJobQueue(runner, {
              concurrency: config.JOBS_CONCURRENCY,
              keepFinished: config.JOBS_KEEP_COMPLETED,
            }),
    },
    JobsService,
    JobsGateway,
  ],
  exports: [JobsService],
})
export class JobsModule {}
