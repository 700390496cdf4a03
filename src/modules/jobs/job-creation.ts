import { applyDecorators, HttpCode, Post, Type } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBody,
  ApiNotFoundResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { ErrorResponseDto } from '../../common/errors/error-response.dto';
import { JobCreatedDto } from './dto/jobs.dto';

const FOLLOW =
  'Follow it with `GET /jobs/{jobId}` or on socket.io namespace `/jobs` (`subscribe` `{ jobId }`, then ' +
  '`progress`, `completed` and `failed` events). Without REDIS_URL jobs live in this process and a restart ' +
  'loses them; with it they are BullMQ jobs that another instance finishes if this one dies.';

export interface JobRouteDoc {
  summary: string;
  description: string;
  /** The optional body: `JobFilesDto` or a class extending it with the kind's parameters. */
  body: Type<unknown>;
  badRequest: string;
  /** What a 503 means for this kind (its model missing). */
  unavailable: string;
}

/**
 * `POST /jobs/<kind>` as every feature declares it in a controller of its own (`@Controller('jobs')`):
 * 202 with the job, and its OpenAPI description; the handler calls `JobsService.create` then `located()`.
 */
export function JobCreationRoute(kind: string, doc: JobRouteDoc): MethodDecorator {
  return applyDecorators(
    Post(kind),
    HttpCode(202),
    ApiTags('jobs'),
    ApiOperation({ summary: doc.summary, description: `${doc.description} ${FOLLOW}` }),
    ApiBody({ type: doc.body, required: false }),
    ApiAcceptedResponse({
      type: JobCreatedDto,
      headers: { Location: { description: 'The job’s statusUrl' } },
    }),
    ApiBadRequestResponse({ type: ErrorResponseDto, description: doc.badRequest }),
    ApiNotFoundResponse({ type: ErrorResponseDto, description: 'An id of `ids` is not an upload' }),
    ApiUnprocessableEntityResponse({
      type: ErrorResponseDto,
      description: 'No uploads to process, or more than JOBS_MAX_FILES',
    }),
    ApiServiceUnavailableResponse({ type: ErrorResponseDto, description: doc.unavailable }),
  );
}

/** The created job, with `Location` set to its status URL. */
export function located(res: Response, created: JobCreatedDto): JobCreatedDto {
  res.location(created.statusUrl);
  return created;
}
