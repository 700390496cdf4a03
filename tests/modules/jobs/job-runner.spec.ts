import { DiscoveryService } from '@nestjs/core';
import { JobHandler, OnJob } from '../../../src/modules/jobs/job-handler';
import { FileOutcome, JobFile, ProgressEvent } from '../../../src/modules/jobs/job-queue';
import { JobInterrupted, JobLedger, JobRunner } from '../../../src/modules/jobs/job-runner';

/** A handler that records what it was asked, with a ready model; `fail` names files it cannot read. */
class FakeHandler implements JobHandler {
  readonly model = { status: 'ready', get: () => ({}) } as unknown as JobHandler['model'];
  readonly lanes = 2;
  readonly seen: string[] = [];
  constructor(private readonly fail: string[] = []) {}
  async process(file: JobFile): Promise<FileOutcome> {
    this.seen.push(file.id);
    await new Promise((r) => setTimeout(r, 1));
    return this.fail.includes(file.id)
      ? { id: file.id, filename: file.filename, ok: false, reason: 'unreadable' }
      : { id: file.id, filename: file.filename, ok: true, digit: 7 };
  }
}

/** The DiscoveryService port as JobRunner uses it: the providers marked with @OnJob. */
function discovering(kind: string, handler: JobHandler): DiscoveryService {
  return {
    getProviders: () => [{ instance: handler }],
    getMetadataByDecorator: (decorator: unknown) => (decorator === OnJob ? kind : undefined),
  } as unknown as DiscoveryService;
}

class MemoryLedger implements JobLedger {
  readonly outcomes = new Map<string, FileOutcome>();
  async recorded() {
    return new Map(this.outcomes);
  }
  async record(o: FileOutcome) {
    this.outcomes.set(o.id, o);
    return this.outcomes.size;
  }
}

const files = (n: number): JobFile[] =>
  Array.from({ length: n }, (_, i) => ({ id: `f${i}`, filename: `${i}.png` }));

describe('JobRunner (in-memory ports, no engine)', () => {
  it('runs every file through the registered handler and reports progress that only grows', async () => {
    const handler = new FakeHandler(['f3']);
    const runner = new JobRunner(discovering('mnist', handler));
    const progress: ProgressEvent[] = [];
    const out = await runner.run({
      jobId: 'j',
      data: { kind: 'mnist', params: {}, files: files(6) },
      ledger: new MemoryLedger(),
      signal: new AbortController().signal,
      onProgress: (p) => void progress.push(p),
    });
    expect(out.map((o) => o.id)).toEqual(['f0', 'f1', 'f2', 'f3', 'f4', 'f5']);
    expect(out.find((o) => o.id === 'f3')).toMatchObject({ ok: false, reason: 'unreadable' });
    expect(progress.map((p) => p.done)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(progress.every((p) => p.total === 6)).toBe(true);
  });

  it('resumes after a crash: files already in the ledger are not processed again', async () => {
    const handler = new FakeHandler();
    const runner = new JobRunner(discovering('mnist', handler));
    const ledger = new MemoryLedger();
    for (const f of files(4)) await ledger.record({ id: f.id, filename: f.filename, ok: true, digit: 1 });
    const progress: number[] = [];
    const out = await runner.run({
      jobId: 'j',
      data: { kind: 'mnist', params: {}, files: files(6) },
      ledger,
      signal: new AbortController().signal,
      onProgress: (p) => void progress.push(p.done),
    });
    expect(handler.seen.sort()).toEqual(['f4', 'f5']);
    expect(progress).toEqual([5, 6]);
    expect(out.map((o) => o.digit)).toEqual([1, 1, 1, 1, 7, 7]);
  });

  it('stops between two files when the shutdown signal fires, keeping what is recorded', async () => {
    const handler = new FakeHandler();
    const runner = new JobRunner(discovering('mnist', handler));
    const stop = new AbortController();
    const ledger = new MemoryLedger();
    const run = runner.run({
      jobId: 'j',
      data: { kind: 'mnist', params: {}, files: files(50) },
      ledger,
      signal: stop.signal,
      onProgress: (p) => {
        if (p.done === 3) stop.abort();
      },
    });
    await expect(run).rejects.toBeInstanceOf(JobInterrupted);
    expect(ledger.outcomes.size).toBeGreaterThanOrEqual(3);
    expect(ledger.outcomes.size).toBeLessThan(50);
  });

  it('refuses a kind no feature registered with 404, and a missing model with its own error', () => {
    const missing = new FakeHandler();
    (missing as { model: unknown }).model = {
      status: 'missing',
      get: () => {
        throw new Error('model missing');
      },
    };
    const runner = new JobRunner(discovering('mosaic', missing));
    expect(() => runner.assertAvailable('nope')).toThrow(/no job kind "nope"/);
    expect(() => runner.assertAvailable('mosaic')).toThrow('model missing');
  });
});
