import { Body, Controller, Res } from '@nestjs/common';
import type { Response } from 'express';
import { JobCreationRoute, located } from '../jobs/job-creation';
import { JobCreatedDto } from '../jobs/dto/jobs.dto';
import { MnistJobDto } from './dto/mnist-job.dto';
import { JobsService } from '../jobs/jobs.service';

@Controller('jobs')
export class MnistJobsController {
  constructor(private readonly jobs: JobsService) {}

  @JobCreationRoute('mnist', {
    summary: 'Recognise the digit of many uploads, as a background job',
    description:
      'Each upload (or those in `ids`) is classified as `POST /mnist/predict` does; an image without a digit ' +
      'is listed in `failures`.',
    body: MnistJobDto,
    badRequest: 'Invalid ids',
    unavailable: 'The MNIST model is not installed',
  })
  async create(@Body() body: MnistJobDto, @Res({ passthrough: true }) res: Response): Promise<JobCreatedDto> {
    return located(res, await this.jobs.create('mnist', {}, body.ids));
  }
}
