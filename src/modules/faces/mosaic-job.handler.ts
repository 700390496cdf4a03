import { Inject, Injectable } from '@nestjs/common';
import { FileOutcome, JobFile } from '../jobs/job-queue';
import { JobHandler, OnJob } from '../jobs/job-handler';
import { FacesConfig, facesConfig } from './faces.config';
import { MosaicParamsDto } from './dto/faces.dto';
import { FacesService } from './faces.service';
import { MosaicBatchService } from './mosaic-batch.service';

/** `mosaic` jobs: each upload pixelated into OUTPUT_DIR as `GET /mosaic` does, FACES_WORKERS at a time. */
@OnJob('mosaic')
@Injectable()
export class MosaicJobHandler implements JobHandler {
  readonly lanes: number;

  constructor(
    private readonly faces: FacesService,
    private readonly batch: MosaicBatchService,
    @Inject(facesConfig.KEY) config: FacesConfig,
  ) {
    this.lanes = config.FACES_WORKERS;
  }

  get model() {
    return this.faces.handle;
  }

  /** The parameters stored with the job: the request's, defaults filled in. */
  params(body: MosaicParamsDto): Record<string, unknown> {
    const o = this.faces.mosaicOptions(body);
    return {
      blocks: o.blocks,
      method: o.method,
      scaleFactor: o.scaleFactor,
      minNeighbors: o.minNeighbors,
      minSize: o.minSize,
    };
  }

  async process(file: JobFile, params: Record<string, unknown>): Promise<FileOutcome> {
    const r = await this.batch.mosaicUploadFile(file.id, file.filename, params as MosaicParamsDto);
    if (r.status === 'processed')
      return { id: file.id, filename: file.filename, ok: true, output: r.output, faces: r.faces };
    const reason = r.status === 'no_faces' ? 'No face was found.' : (r.error ?? 'It could not be processed.');
    return { id: file.id, filename: file.filename, ok: false, reason };
  }
}
