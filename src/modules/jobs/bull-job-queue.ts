import { Logger } from '@nestjs/common';
import { Job, JobType, Queue, QueueEvents, WaitingError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { RedisConnections } from '../redis/redis-connections';
import { reason } from './in-process-job-queue';
import {
  FileOutcome,
  JobData,
  JobQueue,
  JobState,
  JobSummary,
  JobView,
  ProgressEvent,
  toSummary,
  toView,
} from './job-queue';
import { JobInterrupted, JobLedger, JobRunner } from './job-runner';

/** The BullMQ queue name; keys are `<REDIS_KEY_PREFIX without its trailing colon>:jobs:…`. */
export const QUEUE_NAME = 'jobs';
/** A running job's per-file outcomes live this long after the last one (refreshed by each file)… */
const LEDGER_TTL_S = 7 * 24 * 3600;
/** …and this long once the job has finished (its outcomes are then in the job's return value). */
const LEDGER_DONE_TTL_S = 3600;
const ALL_STATES: JobType[] = ['active', 'waiting', 'prioritized', 'delayed', 'completed', 'failed'];

export interface BullOptions {
  concurrency: number;
  keepFinished: number;
  /** Whether this instance runs jobs, or only enqueues them and forwards their events. */
  worker: boolean;
  lockDuration: number;
  stalledInterval: number;
  maxStalledCount: number;
  /** Stored on each job as `processedBy`: which instance ran it last. */
  workerName: string;
}

interface JobResult {
  outcomes: FileOutcome[];
}

/**
 * Jobs in Redis with BullMQ (REDIS_URL set), shared by every instance. Each instance with JOBS_WORKER runs
 * up to JOBS_CONCURRENCY of them; every instance listens to the queue's events (QueueEvents) and hands
 * them to its listeners, so a client connected anywhere follows a job running anywhere.
 *
 * Surviving a crash: a running job holds a lock its worker renews; when the instance dies the lock
 * expires (JOBS_LOCK_DURATION_MS), another worker's stalled-job check (every JOBS_STALLED_INTERVAL_MS)
 * puts the job back in the queue and a worker runs it again. Each file's outcome is recorded in a Redis
 * hash keyed by the job id and upload id as soon as it is done, so the new run skips recorded files and
 * the result lists every file exactly once. At a graceful shutdown the running jobs stop between two files
 * and go back to the queue at once, for another instance to continue.
 */
export class BullJobQueue extends JobQueue {
  readonly backend = 'bullmq' as const;
  private readonly logger = new Logger(BullJobQueue.name);
  private readonly queue: Queue<JobData, JobResult>;
  private readonly events: QueueEvents;
  private worker?: Worker<JobData, JobResult>;
  private readonly commands: Redis;
  private readonly ledgerPrefix: string;
  private readonly stop = new AbortController();

  constructor(
    private readonly runner: JobRunner,
    private readonly redis: RedisConnections,
    private readonly options: BullOptions,
  ) {
    super();
    const prefix = redis.prefix.replace(/:+$/, '') || 'ko-ai';
    this.ledgerPrefix = `${prefix}:${QUEUE_NAME}-files:`;
    this.commands = redis.client();
    this.queue = new Queue<JobData, JobResult>(QUEUE_NAME, {
      connection: redis.create('jobs-queue'),
      prefix,
      defaultJobOptions: {
        attempts: 1,
        removeOnComplete: { count: options.keepFinished },
        removeOnFail: { count: options.keepFinished },
      },
    });
    this.queue.on('error', (err) => this.logger.warn(`queue: ${err.message}`));
    this.events = new QueueEvents(QUEUE_NAME, {
      connection: redis.create('jobs-events', { maxRetriesPerRequest: null }),
      prefix,
    });
    this.events.on('error', (err) => this.logger.warn(`queue events: ${err.message}`));
    this.events.on('progress', ({ jobId, data }) => {
      const p = data as Partial<ProgressEvent>;
      if (typeof p === 'object' && typeof p.done === 'number' && typeof p.total === 'number') {
        this.emit({
          type: 'progress',
          progress: { jobId, done: p.done, total: p.total, file: String(p.file ?? '') },
        });
      }
    });
    this.events.on('completed', ({ jobId }) => void this.forward(jobId, 'completed'));
    this.events.on('failed', ({ jobId }) => void this.forward(jobId, 'failed'));
    if (options.worker) {
      this.worker = new Worker<JobData, JobResult>(QUEUE_NAME, (job, token) => this.process(job, token), {
        connection: redis.create('jobs-worker', { maxRetriesPerRequest: null }),
        prefix,
        name: options.workerName,
        concurrency: options.concurrency,
        lockDuration: options.lockDuration,
        stalledInterval: options.stalledInterval,
        maxStalledCount: options.maxStalledCount,
        autorun: false,
      });
      this.worker.on('error', (err) => this.logger.warn(`worker: ${err.message}`));
    }
  }

  /** Waits for the event stream, then starts the worker (after the models have started loading). */
  override async start(): Promise<void> {
    await this.events.waitUntilReady();
    if (this.worker) {
      void this.worker.run().catch((err: Error) => this.logger.error(`worker stopped: ${err.message}`));
    }
  }

  async add(jobId: string, data: JobData): Promise<JobView> {
    const job = await this.queue.add(data.kind, data, { jobId });
    return this.view(job, 'queued', new Map());
  }

  async get(jobId: string): Promise<JobView | null> {
    const job = await this.queue.getJob(jobId);
    if (!job) return null;
    const state = toState(await job.getState());
    if (!state) return null;
    return this.view(job, state);
  }

  async list(offset: number, limit: number): Promise<{ items: JobSummary[]; total: number }> {
    // Finished jobs are bounded by JOBS_KEEP_COMPLETED; jobs still to run are few in practice.
    const jobs = (await this.queue.getJobs(ALL_STATES, 0, -1)).filter(Boolean);
    jobs.sort((a, b) => b.timestamp - a.timestamp || String(b.id).localeCompare(String(a.id)));
    const page = jobs.slice(offset, offset + limit);
    const items = await Promise.all(
      page.map(async (job) => {
        const state = toState(await job.getState()) ?? 'queued';
        const done = state === 'completed' ? job.returnvalue?.outcomes : undefined;
        return toSummary(await this.view(job, state, done ? new Map(done.map((o) => [o.id, o])) : undefined));
      }),
    );
    return { items, total: jobs.length };
  }

  /** Interrupts the running jobs (they go back to the queue), then closes the worker and the queue. */
  async close(): Promise<void> {
    this.stop.abort();
    await this.worker?.close();
    await Promise.allSettled([this.events.close(), this.queue.close()]);
  }

  private async process(job: Job<JobData, JobResult>, token?: string): Promise<JobResult> {
    const id = String(job.id);
    const ledger = this.ledger(id);
    try {
      const outcomes = await this.runner.run({
        jobId: id,
        data: job.data,
        ledger,
        signal: this.stop.signal,
        onProgress: (p) => job.updateProgress(p),
      });
      await this.commands.expire(this.ledgerKey(id), LEDGER_DONE_TTL_S);
      return { outcomes };
    } catch (err) {
      if (err instanceof JobInterrupted && token) {
        // A graceful shutdown: back to the queue now rather than after the lock expires.
        await job.moveToWait(token);
        throw new WaitingError();
      }
      this.logger.error(`job ${id} failed: ${String(err)}`);
      throw new Error(reason(err));
    }
  }

  private ledgerKey(jobId: string): string {
    return this.ledgerPrefix + jobId;
  }

  /** A Redis hash: field = upload id, value = its outcome (JSON). HSET twice keeps one. */
  private ledger(jobId: string): JobLedger {
    const key = this.ledgerKey(jobId);
    return {
      recorded: () => this.recorded(jobId),
      record: async (o) => {
        const replies = await this.commands
          .multi()
          .hset(key, o.id, JSON.stringify(o))
          .expire(key, LEDGER_TTL_S)
          .hlen(key)
          .exec();
        const hlen = replies?.[2];
        if (!hlen || hlen[0]) throw hlen?.[0] ?? new Error('Redis transaction aborted');
        return Number(hlen[1]);
      },
    };
  }

  private async recorded(jobId: string): Promise<Map<string, FileOutcome>> {
    const raw = await this.commands.hgetall(this.ledgerKey(jobId));
    const map = new Map<string, FileOutcome>();
    for (const [id, json] of Object.entries(raw)) {
      try {
        map.set(id, JSON.parse(json) as FileOutcome);
      } catch {
        // an unreadable entry: the file is simply done again
      }
    }
    return map;
  }

  private async view(
    job: Job<JobData, JobResult>,
    state: JobState,
    outcomes?: Map<string, FileOutcome>,
  ): Promise<JobView> {
    const id = String(job.id);
    let known = outcomes;
    if (!known) {
      const finished = state === 'completed' ? job.returnvalue?.outcomes : undefined;
      known = finished ? new Map(finished.map((o) => [o.id, o])) : await this.recorded(id);
    }
    return toView({
      jobId: id,
      data: job.data,
      state,
      outcomes: known,
      error: job.failedReason || null,
      attempts: job.attemptsStarted ?? 0,
      createdAt: job.timestamp,
      startedAt: job.processedOn ?? null,
      finishedAt: state === 'completed' || state === 'failed' ? (job.finishedOn ?? null) : null,
    });
  }

  private async forward(jobId: string, type: 'completed' | 'failed'): Promise<void> {
    try {
      const view = await this.get(jobId);
      if (view) this.emit(type === 'completed' ? { type, job: view } : { type, job: view });
    } catch (err) {
      this.logger.warn(`could not read job ${jobId}: ${String(err)}`);
    }
  }
}

function toState(state: string): JobState | null {
  switch (state) {
    case 'active':
      return 'active';
    case 'completed':
      return 'completed';
    case 'failed':
      return 'failed';
    case 'unknown':
      return null;
    default:
      return 'queued';
  }
}
