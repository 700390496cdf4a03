import { Body, Controller, Res } from '@nestjs/common';
import type { Response } from 'express';
import { JobCreationRoute, located } from '../jobs/job-creation';
import { JobCreatedDto } from '../jobs/dto/jobs.dto';
import { JobsService } from '../jobs/jobs.service';
import { MosaicJobDto } from './dto/mosaic-job.dto';
import { MosaicJobHandler } from './mosaic-job.handler';

@Controller('jobs')
export class MosaicJobsController {
  constructor(
    private readonly jobs: JobsService,
    private readonly handler: MosaicJobHandler,
  ) {}

  @JobCreationRoute('mosaic', {
    summary: 'Pixelate the faces of many uploads, as a background job',
    description:
      'The work of `GET /mosaic` without its MOSAIC_SYNC_MAX_FILES limit: every upload (or those in `ids`) is ' +
      'pixelated into OUTPUT_DIR as `<upload id>-face.png`; uploads without a face are listed in `failures`. ' +
      'The body is optional and takes the parameters of `GET /mosaic`.',
    body: MosaicJobDto,
    badRequest: 'Invalid parameters or ids',
    unavailable: 'The Haar cascade is not installed',
  })
  async create(
    @Body() body: MosaicJobDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<JobCreatedDto> {
    const { ids, ...params } = body;
    return located(res, await this.jobs.create('mosaic', this.handler.params(params), ids));
  }
}
