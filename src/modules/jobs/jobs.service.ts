import {
  Inject,
  Injectable,
  Logger,
  NotFoundException,
  OnApplicationBootstrap,
  OnModuleDestroy,
  UnprocessableEntityException,
} from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { UploadsService } from '../uploads/uploads.service';
import { JobFile, JobKind, JobQueue, JobView } from './job-queue';
import { JobRunner } from './job-runner';
import { JobCreatedDto, JobListDto } from './dto/jobs.dto';
import { JobsConfig, jobsConfig } from './jobs.config';

/** Job ids are version-4 UUIDs; anything else is unknown. */
/** Job ids are v4 UUIDs (randomUUID). */
export const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/**
 * Creates and reads jobs over whichever JobQueue is bound (in-process or BullMQ). A job takes a snapshot
 * of its files when it is created: the `ids` given, or every upload, newest first.
 */
@Injectable()
export class JobsService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(JobsService.name);

  constructor(
    readonly queue: JobQueue,
    private readonly runner: JobRunner,
    private readonly uploads: UploadsService,
    @Inject(jobsConfig.KEY) private readonly config: JobsConfig,
  ) {}

  onApplicationBootstrap(): void {
    // Not awaited: an unreachable Redis must not keep the HTTP server from starting.
    this.queue.start().catch((err: unknown) => this.logger.error(`job queue did not start: ${String(err)}`));
    this.logger.log(`jobs: ${this.queue.backend}`);
  }

  onModuleDestroy(): Promise<void> {
    return this.queue.close();
  }

  async get(jobId: string): Promise<JobView> {
    const job = JOB_ID.test(jobId) ? await this.queue.get(jobId) : null;
    if (!job)
      throw new NotFoundException('There is no job with this id (finished jobs are kept for a while only).');
    return job;
  }

  async list(page = 1, limit = 20): Promise<JobListDto> {
    const { items, total } = await this.queue.list((page - 1) * limit, limit);
    return { items, page, limit, total, pages: Math.ceil(total / limit) };
  }

  /**
   * A job of `kind` (a registered JobHandler) over the uploads `ids`, or every upload; `params` are stored with
   * it for the handler. 503 when the kind's model is missing, 404 for unknown ids, 422 for none or too many.
   */
  async create(kind: JobKind, params: Record<string, unknown>, ids?: string[]): Promise<JobCreatedDto> {
    this.runner.assertAvailable(kind);
    const unique = ids ? [...new Set(ids)] : undefined;
    const count = unique?.length ?? (await this.uploads.count());
    if (count === 0) throw new UnprocessableEntityException('There are no uploaded images to process.');
    const max = this.config.JOBS_MAX_FILES;
    if (count > max) {
      throw new UnprocessableEntityException(
        `The job would take ${count} images, more than the ${max} one job may take; pass fewer ids.`,
      );
    }
    const files = unique ? await this.named(unique) : await this.everyUpload();
    const jobId = randomUUID();
    const view = await this.queue.add(jobId, { kind, params, files });
    return { jobId, kind, state: view.state, total: files.length, statusUrl: `/jobs/${jobId}` };
  }

  private async everyUpload(): Promise<JobFile[]> {
    return (await this.uploads.all()).map((u) => ({ id: u.id, filename: u.originalName }));
  }

  /** The uploads asked for, in the order asked; 404 naming the first unknown ones. */
  private async named(ids: string[]): Promise<JobFile[]> {
    const found = await Promise.all(
      ids.map((id) =>
        this.uploads.meta(id).then(
          (m) => ({ id, filename: m.filename }),
          () => null,
        ),
      ),
    );
    const missing = ids.filter((_, i) => found[i] === null);
    if (missing.length > 0) {
      const shown = missing.slice(0, 3).join(', ');
      const more = missing.length > 3 ? ` and ${missing.length - 3} more` : '';
      throw new NotFoundException(
        `There is no upload with the id${missing.length > 1 ? 's' : ''} ${shown}${more}.`,
      );
    }
    return found as JobFile[];
  }
}
