import { ApiProperty, ApiPropertyOptional, ApiPropertyOptions } from '@nestjs/swagger';
import { PageQueryDto } from '../../../common/http/page-query.dto';
import { ArrayMaxSize, ArrayNotEmpty, IsArray, IsOptional, IsString, IsUUID } from 'class-validator';
import { JOB_STATES, JobKind, JobState } from '../job-queue';

const JOB_ID_EXAMPLE = '8d3b7a52-1f9e-4c1a-9b7e-2f4d6c8a0e13';
const UPLOAD_ID_EXAMPLE = '3f0c2a9e-5b7d-4c1e-9a2f-6d8e4b1c0a7f';

/** The largest `ids` list a request may carry (JOBS_MAX_FILES, checked after, is usually lower). */
export const MAX_IDS = 100_000;

const IDS_DOC: ApiPropertyOptions = {
  type: [String],
  example: [UPLOAD_ID_EXAMPLE],
  description: 'Upload ids to process (duplicates ignored); default: every upload, newest first',
};

/** Which uploads a job takes: the body of every `POST /jobs/<kind>`, or part of it. */
export class JobFilesDto {
  @ApiPropertyOptional(IDS_DOC)
  @IsOptional()
  // With stopAtFirstError the decorator nearest the property is checked first.
  @IsUUID('4', { each: true, message: 'each value in ids must be an upload id (a UUID)' })
  @ArrayMaxSize(MAX_IDS)
  @ArrayNotEmpty()
  @IsArray()
  ids?: string[];
}

/** `limit` defaults to 20. */
export class JobListQueryDto extends PageQueryDto {}

/** socket.io `/jobs` `subscribe` and `unsubscribe` payload. */
export class JobSubscribeDto {
  @IsString() jobId: string;
}

export class JobCreatedDto {
  @ApiProperty({ example: JOB_ID_EXAMPLE }) jobId: string;
  @ApiProperty({ description: 'mosaic or mnist', example: 'mosaic' }) kind: JobKind;
  @ApiProperty({ enum: JOB_STATES, example: 'queued' }) state: JobState;
  @ApiProperty({ example: 20, description: 'Files in the job' }) total: number;
  @ApiProperty({
    example: `/jobs/${JOB_ID_EXAMPLE}`,
    description: 'Where to follow it (also the Location header)',
  })
  statusUrl: string;
}

export class JobProgressDto {
  @ApiProperty({ example: 12, description: 'Files done (processed or failed)' }) done: number;
  @ApiProperty({ example: 20 }) total: number;
}

export class JobResultDto {
  @ApiProperty({ example: UPLOAD_ID_EXAMPLE, description: 'Upload id' }) id: string;
  @ApiProperty({ example: 'two_people.jpg', description: 'The upload’s (safe) original name' })
  filename: string;
  @ApiPropertyOptional({
    example: `/outputs/${UPLOAD_ID_EXAMPLE}-face.png`,
    description: 'mosaic: the image',
  })
  output?: string;
  @ApiPropertyOptional({ example: 2, description: 'mosaic: faces pixelated' }) faces?: number;
  @ApiPropertyOptional({ example: 7, description: 'mnist: the digit' }) digit?: number;
  @ApiPropertyOptional({ example: 0.9987, description: 'mnist: its probability' }) confidence?: number;
}

export class JobFailureDto {
  @ApiProperty({ example: UPLOAD_ID_EXAMPLE }) id: string;
  @ApiProperty({ example: 'landscape.jpg' }) filename: string;
  @ApiProperty({ example: 'No face was found.' }) reason: string;
}

export class JobSummaryDto {
  @ApiProperty({ example: JOB_ID_EXAMPLE }) jobId: string;
  @ApiProperty({ description: 'mosaic or mnist', example: 'mosaic' }) kind: JobKind;
  @ApiProperty({ enum: JOB_STATES, example: 'completed' }) state: JobState;
  @ApiProperty({ type: JobProgressDto }) progress: JobProgressDto;
  @ApiProperty({ example: null, nullable: true, type: String, description: 'Why the job failed' })
  error: string | null;
  @ApiProperty({ example: 1, description: 'Times started: above 1 after another worker took it over' })
  attempts: number;
  @ApiProperty({ example: '2025-01-31T09:15:00.000Z' }) createdAt: string;
  @ApiProperty({ example: '2025-01-31T09:15:00.120Z', nullable: true, type: String }) startedAt:
    string | null;
  @ApiProperty({ example: '2025-01-31T09:15:04.870Z', nullable: true, type: String }) finishedAt:
    string | null;
}

export class JobDto extends JobSummaryDto {
  @ApiProperty({
    example: { blocks: 16, method: 'pixelate' },
    description: 'The parameters the job was created with',
    type: 'object',
    additionalProperties: true,
  })
  params: Record<string, unknown>;
  @ApiProperty({ type: [JobResultDto], description: 'Files done well so far, in the job’s file order' })
  results: JobResultDto[];
  @ApiProperty({ type: [JobFailureDto], description: 'Files that could not be done (no face, unreadable…)' })
  failures: JobFailureDto[];
}

export class JobListDto {
  @ApiProperty({ type: [JobSummaryDto], description: 'Newest first' }) items: JobSummaryDto[];
  @ApiProperty({ example: 1 }) page: number;
  @ApiProperty({ example: 20 }) limit: number;
  @ApiProperty({ example: 3 }) total: number;
  @ApiProperty({ example: 1 }) pages: number;
}
