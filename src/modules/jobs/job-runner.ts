import { Injectable, NotFoundException } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { JobHandler, OnJob } from './job-handler';
import { FileOutcome, JobData, ProgressEvent } from './job-queue';

/** Where a running job records what happened to each file, so that a retry skips what is done. */
export interface JobLedger {
  /** The outcomes recorded so far, by file id. */
  recorded(): Promise<Map<string, FileOutcome>>;
  /** Records one file's outcome (again: replaces it) and resolves with how many files are recorded. */
  record(outcome: FileOutcome): Promise<number>;
}

export interface RunContext {
  jobId: string;
  data: JobData;
  ledger: JobLedger;
  /** Aborted at shutdown: the job stops between two files (what is recorded stays recorded). */
  signal: AbortSignal;
  /** Called after each file, in order, with strictly increasing `done`. */
  onProgress(progress: ProgressEvent): Promise<void> | void;
}

/** The job was stopped by its signal (shutdown) between two files. */
export class JobInterrupted extends Error {
  constructor() {
    super('The job was interrupted by a shutdown before it finished.');
  }
}

/** How long a job waits for its model when the instance has just started (the model is loading). */
const MODEL_WAIT_MS = 120_000;

/**
 * Runs one job, whichever queue it comes from: every file of the job not yet in its ledger goes through the
 * JobHandler its kind's feature registered (`@OnJob`), its outcome is recorded, then progress reported. A
 * file's failure (no face, unreadable image) is an outcome, not a job failure. Resolves with the outcome of
 * every file, in the job's file order.
 */
@Injectable()
export class JobRunner {
  private handlers?: Map<string, JobHandler>;

  constructor(private readonly discovery: DiscoveryService) {}

  /** The handler registered for `kind`; the providers are looked up again while it is not found. */
  handlerFor(kind: string): JobHandler {
    if (!this.handlers?.has(kind))
      this.handlers = new Map(
        this.discovery
          .getProviders({ metadataKey: OnJob.KEY })
          .filter((w) => w.instance)
          .map((w) => [this.discovery.getMetadataByDecorator(OnJob, w)!, w.instance as JobHandler]),
      );
    const handler = this.handlers.get(kind);
    if (!handler) throw new NotFoundException(`There is no job kind "${kind}".`);
    return handler;
  }

  /** Throws 503 now when the kind's model is missing (requests are refused rather than queued to fail). */
  assertAvailable(kind: string): void {
    const { model } = this.handlerFor(kind);
    if (model.status !== 'loading') model.get();
  }

  async run(ctx: RunContext): Promise<FileOutcome[]> {
    const handler = this.handlerFor(ctx.data.kind);
    await this.whenReady(handler, ctx.signal);
    const recorded = await ctx.ledger.recorded();
    const total = ctx.data.files.length;
    const pending = ctx.data.files.filter((f) => !recorded.has(f.id));
    let lastDone = recorded.size;
    // Records and reports one file at a time, so `done` only grows, whatever the lanes' order.
    let chain: Promise<void> = Promise.resolve();
    const report = (outcome: FileOutcome) =>
      (chain = chain.then(async () => {
        const done = await ctx.ledger.record(outcome);
        if (done <= lastDone) return;
        lastDone = done;
        await ctx.onProgress({ jobId: ctx.jobId, done, total, file: outcome.filename });
      }));

    let next = 0;
    const lane = async () => {
      while (next < pending.length) {
        if (ctx.signal.aborted) throw new JobInterrupted();
        const file = pending[next++];
        await report(await handler.process(file, ctx.data.params));
      }
    };
    const lanes = Math.max(1, Math.min(handler.lanes, pending.length));
    const settled = await Promise.allSettled(Array.from({ length: lanes }, lane));
    await chain;
    const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failure) throw failure.reason;

    const outcomes = await ctx.ledger.recorded();
    return ctx.data.files.map(
      (f) =>
        outcomes.get(f.id) ?? { id: f.id, filename: f.filename, ok: false, reason: 'It was not processed.' },
    );
  }

  /** Waits while the model loads (an instance that has just started); throws when it is missing. */
  private async whenReady(handler: JobHandler, signal: AbortSignal): Promise<void> {
    const deadline = Date.now() + MODEL_WAIT_MS;
    while (handler.model.status === 'loading' && Date.now() < deadline) {
      if (signal.aborted) throw new JobInterrupted();
      await new Promise((r) => setTimeout(r, 200));
    }
    handler.model.get();
  }
}
