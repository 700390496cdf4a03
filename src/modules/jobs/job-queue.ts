/** A job kind: the name a feature registered its JobHandler under (`@OnJob`), e.g. "mosaic". */
export type JobKind = string;
export const JOB_STATES = ['queued', 'active', 'completed', 'failed'] as const;
export type JobState = (typeof JOB_STATES)[number];

/** One file of a job: an upload, with the name shown in results. */
export interface JobFile {
  id: string;
  filename: string;
}

/** What a job is asked to do; fixed when it is created. */
export interface JobData {
  kind: JobKind;
  /** The kind's parameters (mosaic: blocks, method, scaleFactor, minNeighbors, minSize). */
  params: Record<string, unknown>;
  files: JobFile[];
}

/** What happened to one file. Recorded once per file id: a job that is retried skips recorded files. */
export interface FileOutcome {
  id: string;
  filename: string;
  ok: boolean;
  /** Why it failed (no face, unreadable image, upload deleted…). */
  reason?: string;
  /** mosaic: the image written to OUTPUT_DIR (`/outputs/<id>-face.png`) and its face count. */
  output?: string;
  faces?: number;
  /** mnist: the digit and its probability. */
  digit?: number;
  confidence?: number;
}

export interface JobProgress {
  done: number;
  total: number;
}

export type JobResultItem = Omit<FileOutcome, 'ok' | 'reason'>;
export interface JobFailureItem {
  id: string;
  filename: string;
  reason: string;
}

/** A job as clients see it (`GET /jobs/:id`, the socket.io acknowledgement, `completed`/`failed` events). */
export interface JobView {
  jobId: string;
  kind: JobKind;
  state: JobState;
  progress: JobProgress;
  params: Record<string, unknown>;
  /** Files done well, in the job's file order. */
  results: JobResultItem[];
  /** Files that could not be done, with why. */
  failures: JobFailureItem[];
  /** Why the job itself failed (state `failed`), else null. */
  error: string | null;
  /** Times the job was started: more than 1 when another worker took it over after a crash. */
  attempts: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** A job in lists: the view without its per-file results. */
export type JobSummary = Omit<JobView, 'results' | 'failures' | 'params'>;

export interface ProgressEvent {
  jobId: string;
  done: number;
  total: number;
  /** The name of the file just done. */
  file: string;
}

export type JobEvent =
  | { type: 'progress'; progress: ProgressEvent }
  | { type: 'completed'; job: JobView }
  | { type: 'failed'; job: JobView };

export type JobListener = (event: JobEvent) => void;

/**
 * Where jobs wait, run and are remembered. Two adapters: InProcessJobQueue (the default: memory, lost with
 * the process) and BullJobQueue (REDIS_URL: BullMQ, shared by every instance, taken over by another worker
 * when the instance running a job dies). Events of every job are delivered to the listeners of every
 * instance, wherever the job runs.
 */
export abstract class JobQueue {
  private readonly listeners = new Set<JobListener>();

  /** Which adapter, for logs and /models-like reports. */
  abstract readonly backend: 'in-process' | 'bullmq';
  /** Enqueues a job under `jobId`; resolves with its view (state `queued`). */
  abstract add(jobId: string, data: JobData): Promise<JobView>;
  /** The job, or null when unknown or forgotten. */
  abstract get(jobId: string): Promise<JobView | null>;
  /** Jobs newest first. */
  abstract list(offset: number, limit: number): Promise<{ items: JobSummary[]; total: number }>;
  /** Connects and starts taking jobs (BullMQ); nothing to do in memory. */
  start(): Promise<void> {
    return Promise.resolve();
  }
  /** Stops taking jobs; running ones stop between two files. */
  abstract close(): Promise<void>;

  /** Listens to the events of every job; returns the function that stops listening. */
  subscribe(listener: JobListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  protected emit(event: JobEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

export interface ViewParts {
  jobId: string;
  data: JobData;
  state: JobState;
  outcomes: Map<string, FileOutcome> | FileOutcome[];
  error?: string | null;
  attempts: number;
  createdAt: number;
  startedAt?: number | null;
  finishedAt?: number | null;
}

/** The client view of a job from its data and the outcomes recorded so far. */
export function toView(p: ViewParts): JobView {
  const byId = Array.isArray(p.outcomes) ? new Map(p.outcomes.map((o) => [o.id, o])) : p.outcomes;
  const results: JobResultItem[] = [];
  const failures: JobFailureItem[] = [];
  let done = 0;
  for (const file of p.data.files) {
    const o = byId.get(file.id);
    if (!o) continue;
    done++;
    if (o.ok) {
      const { ok: _ok, reason: _reason, ...result } = o;
      results.push(result);
    } else {
      failures.push({
        id: o.id,
        filename: o.filename,
        reason: o.reason ?? 'The file could not be processed.',
      });
    }
  }
  return {
    jobId: p.jobId,
    kind: p.data.kind,
    state: p.state,
    progress: { done, total: p.data.files.length },
    params: p.data.params,
    results,
    failures,
    error: p.state === 'failed' ? (p.error ?? 'The job failed.') : null,
    attempts: p.attempts,
    createdAt: iso(p.createdAt) as string,
    startedAt: iso(p.startedAt),
    finishedAt: iso(p.finishedAt),
  };
}

export function toSummary(view: JobView): JobSummary {
  const { results: _r, failures: _f, params: _p, ...summary } = view;
  return summary;
}

function iso(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}
