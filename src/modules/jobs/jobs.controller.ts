import { Controller, Get, Param, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { ErrorResponseDto } from '../../common/errors/error-response.dto';
import { JobDto, JobListDto, JobListQueryDto } from './dto/jobs.dto';
import { JobsService } from './jobs.service';

/** Reading jobs; each feature declares its own `POST /jobs/<kind>` (JobCreationRoute). */
@ApiTags('jobs')
@Controller('jobs')
export class JobsController {
  constructor(private readonly jobs: JobsService) {}

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
