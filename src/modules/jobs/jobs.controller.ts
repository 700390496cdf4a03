import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBody,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { ErrorResponseDto } from '../../common/errors/error-response.dto';
import { JobCreatedDto, JobDto, JobListDto, JobListQueryDto, MnistJobDto, MosaicJobDto } from './jobs.dto';
import { JobsService } from './jobs.service';

const FOLLOW =
  'Follow it with `GET /jobs/{jobId}` or on socket.io namespace `/jobs` (`subscribe` `{ jobId }`, then ' +
  '`progress`, `completed` and `failed` events). Without REDIS_URL jobs live in this process and a restart ' +
  'loses them; with it they are BullMQ jobs that another instance finishes if this one dies.';
const TOO_MANY = {
  type: ErrorResponseDto,
  description: 'No uploads to process, or more than JOBS_MAX_FILES',
};
const UNKNOWN_UPLOAD = { type: ErrorResponseDto, description: 'An id of `ids` is not an upload' };

@ApiTags('jobs')
@Controller('jobs')
export class JobsController {
  constructor(private readonly jobs: JobsService) {}

  @Post('mosaic')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Pixelate the faces of many uploads, as a background job',
    description:
      'The work of `GET /mosaic` without its MOSAIC_SYNC_MAX_FILES limit: every upload (or those in `ids`) is ' +
      'pixelated into OUTPUT_DIR as `<upload id>-face.png`; uploads without a face are listed in `failures`. ' +
      'The body is optional and takes the parameters of `GET /mosaic`. ' +
      FOLLOW,
  })
  @ApiBody({ type: MosaicJobDto, required: false })
  @ApiAcceptedResponse({ type: JobCreatedDto, headers: { Location: { description: 'The job’s statusUrl' } } })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Invalid parameters or ids' })
  @ApiNotFoundResponse(UNKNOWN_UPLOAD)
  @ApiUnprocessableEntityResponse(TOO_MANY)
  @ApiServiceUnavailableResponse({ type: ErrorResponseDto, description: 'The Haar cascade is not installed' })
  async mosaic(
    @Body() body: MosaicJobDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<JobCreatedDto> {
    const created = await this.jobs.createMosaic(body);
    res.location(created.statusUrl);
    return created;
  }

  @Post('mnist')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Recognise the digit of many uploads, as a background job',
    description:
      'Each upload (or those in `ids`) is classified as `POST /mnist/predict` does; an image without a digit ' +
      'is listed in `failures`. ' +
      FOLLOW,
  })
  @ApiBody({ type: MnistJobDto, required: false })
  @ApiAcceptedResponse({ type: JobCreatedDto, headers: { Location: { description: 'The job’s statusUrl' } } })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Invalid ids' })
  @ApiNotFoundResponse(UNKNOWN_UPLOAD)
  @ApiUnprocessableEntityResponse(TOO_MANY)
  @ApiServiceUnavailableResponse({ type: ErrorResponseDto, description: 'The MNIST model is not installed' })
  async mnist(@Body() body: MnistJobDto, @Res({ passthrough: true }) res: Response): Promise<JobCreatedDto> {
    const created = await this.jobs.createMnist(body);
    res.location(created.statusUrl);
    return created;
  }

  @Get()
  @ApiOperation({
    summary: 'Recent jobs, newest first',
    description: 'Waiting and running jobs, and the last JOBS_KEEP_COMPLETED finished ones, without results.',
  })
  @ApiOkResponse({ type: JobListDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Invalid page or limit' })
  list(@Query() q: JobListQueryDto): Promise<JobListDto> {
    return this.jobs.list(q.page, q.limit);
  }

  @Get(':id')
  @ApiOperation({
    summary: 'A job: state, progress and per-file results',
    description:
      '`state` is `queued`, `active`, `completed` or `failed` (the job itself: a file that fails is listed in ' +
      '`failures`, the job still completes). `results` and `failures` grow while it runs.',
  })
  @ApiParam({
    name: 'id',
    description: 'The jobId from POST /jobs/…',
    example: '8d3b7a52-1f9e-4c1a-9b7e-2f4d6c8a0e13',
  })
  @ApiOkResponse({ type: JobDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'Unknown job, or finished and forgotten' })
  get(@Param('id') id: string): Promise<JobDto> {
    return this.jobs.get(id);
  }
}
