import { DiscoveryService } from '@nestjs/core';
import { ModelHandle } from '../models/model-registry';
import { FileOutcome, JobFile } from './job-queue';

/**
 * What a feature provides to run one kind of job over uploads, registered with `@OnJob('<kind>')` on an
 * injectable class of its module (found by JobRunner through Nest's DiscoveryService, as Immich finds its
 * job handlers): the jobs module itself knows no feature.
 */
export interface JobHandler {
  /** The model the kind needs: jobs wait while it loads, and are refused (503) while it is missing. */
  readonly model: ModelHandle<unknown>;
  /** Files processed at the same time within one job. */
  readonly lanes: number;
  /** One file's outcome; a file that cannot be processed is an outcome (`ok: false`), not an error. */
  process(file: JobFile, params: Record<string, unknown>): Promise<FileOutcome>;
}

/** Marks a provider as the JobHandler of a job kind, e.g. `@OnJob('mosaic')`. */
export const OnJob = DiscoveryService.createDecorator<string>();
