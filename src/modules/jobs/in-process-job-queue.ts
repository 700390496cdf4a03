import { Logger } from '@nestjs/common';
import {
  FileOutcome,
  JobData,
  JobQueue,
  JobState,
  JobSummary,
  JobView,
  toSummary,
  toView,
} from './job-queue';
import { JobInterrupted, JobRunner } from './job-runner';

interface MemoryJob {
  id: string;
  data: JobData;
  state: JobState;
  outcomes: Map<string, FileOutcome>;
  error: string | null;
  attempts: number;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
}

export interface InProcessOptions {
  concurrency: number;
  keepFinished: number;
}

/**
 * Jobs in this process's memory (no REDIS_URL): queued first in, first out, at most `concurrency` running,
 * the newest `keepFinished` completed (and as many failed) jobs remembered. Jobs are lost with the
 * process: a restart forgets them, and a job running at shutdown is abandoned. Set REDIS_URL for jobs
 * that survive a restart (BullJobQueue).
 */
export class InProcessJobQueue extends JobQueue {
  readonly backend = 'in-process' as const;
  private readonly logger = new Logger(InProcessJobQueue.name);
  /** In creation order. */
  private readonly jobs = new Map<string, MemoryJob>();
  private readonly waiting: MemoryJob[] = [];
  private readonly running = new Set<Promise<void>>();
  private readonly stop = new AbortController();

  constructor(
    private readonly runner: JobRunner,
    private readonly options: InProcessOptions,
  ) {
    super();
  }

  add(jobId: string, data: JobData): Promise<JobView> {
    const job: MemoryJob = {
      id: jobId,
      data,
      state: 'queued',
      outcomes: new Map(),
      error: null,
      attempts: 0,
      createdAt: Date.now(),
      startedAt: null,
      finishedAt: null,
    };
    this.jobs.set(jobId, job);
    this.waiting.push(job);
    const view = this.view(job);
    // After answering: the job starts on the next turn of the event loop.
    setImmediate(() => this.pump());
    return Promise.resolve(view);
  }

  get(jobId: string): Promise<JobView | null> {
    const job = this.jobs.get(jobId);
    return Promise.resolve(job ? this.view(job) : null);
  }

  list(offset: number, limit: number): Promise<{ items: JobSummary[]; total: number }> {
    const newest = [...this.jobs.values()].reverse();
    return Promise.resolve({
      items: newest.slice(offset, offset + limit).map((j) => toSummary(this.view(j))),
      total: newest.length,
    });
  }

  /** Stops starting jobs, interrupts the running ones between two files and waits for them. */
  async close(): Promise<void> {
    this.stop.abort();
    await Promise.allSettled([...this.running]);
  }

  private pump(): void {
    while (
      !this.stop.signal.aborted &&
      this.running.size < this.options.concurrency &&
      this.waiting.length > 0
    ) {
      const job = this.waiting.shift() as MemoryJob;
      const run = this.run(job).finally(() => {
        this.running.delete(run);
        this.forgetOld();
        this.pump();
      });
      this.running.add(run);
    }
  }

  private async run(job: MemoryJob): Promise<void> {
    job.state = 'active';
    job.attempts++;
    job.startedAt = Date.now();
    try {
      const outcomes = await this.runner.run({
        jobId: job.id,
        data: job.data,
        signal: this.stop.signal,
        ledger: {
          recorded: () => Promise.resolve(new Map(job.outcomes)),
          record: (o) => {
            job.outcomes.set(o.id, o);
            return Promise.resolve(job.outcomes.size);
          },
        },
        onProgress: (p) => this.emit({ type: 'progress', progress: p }),
      });
      for (const o of outcomes) job.outcomes.set(o.id, o);
      job.state = 'completed';
    } catch (err) {
      job.state = 'failed';
      job.error = err instanceof JobInterrupted ? err.message : reason(err);
      if (!(err instanceof JobInterrupted)) this.logger.error(`job ${job.id} failed: ${String(err)}`);
    }
    job.finishedAt = Date.now();
    const view = this.view(job);
    this.emit(job.state === 'completed' ? { type: 'completed', job: view } : { type: 'failed', job: view });
  }

  /** Keeps the newest `keepFinished` completed jobs and as many failed ones. */
  private forgetOld(): void {
    for (const state of ['completed', 'failed'] as const) {
      const finished = [...this.jobs.values()].filter((j) => j.state === state);
      for (const old of finished.slice(0, Math.max(0, finished.length - this.options.keepFinished)))
        this.jobs.delete(old.id);
    }
  }

  private view(job: MemoryJob): JobView {
    return toView({ ...job, jobId: job.id });
  }
}

/** A failure's message for clients: HTTP errors (a missing model) say what to do; others stay generic. */
export function reason(err: unknown): string {
  if (err && typeof err === 'object' && 'getStatus' in err && err instanceof Error) return err.message;
  return 'The job failed on an internal error.';
}
