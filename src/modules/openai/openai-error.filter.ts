import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { toErrorBody } from '../../common/errors/error-body';
import { setRetryAfter } from '../../common/errors/http-exception.filter';
import { requestId } from '../../common/http/logging';

/** OpenAI's error body; its client libraries turn it into BadRequestError, RateLimitError and so on. */
export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

const TYPES: Record<number, [type: string, code: string | null]> = {
  400: ['invalid_request_error', null],
  401: ['invalid_request_error', 'invalid_api_key'],
  403: ['invalid_request_error', 'forbidden'],
  404: ['invalid_request_error', 'not_found'],
  413: ['invalid_request_error', 'request_too_large'],
  429: ['rate_limit_error', 'rate_limit_exceeded'],
  503: ['server_error', 'model_not_ready'],
};

/** The first field a validation message names ("messages.0.role must…", "property foo should not exist"). */
function paramOf(message: string): string | null {
  const unknown = /^property (\S+) should not exist/.exec(message);
  if (unknown) return unknown[1];
  const named = /^([A-Za-z_][\w.]*) (must|should|has)\b/.exec(message);
  return named ? named[1] : null;
}

export function toOpenAiError(exception: unknown): { status: number; body: OpenAiErrorBody } {
  const base = toErrorBody(exception);
  const extra = (exception instanceof HttpException ? exception.getResponse() : undefined) as
    { param?: string; code?: string } | undefined;
  const [type, code] =
    TYPES[base.statusCode] ??
    (base.statusCode >= 500 ? ['server_error', null] : ['invalid_request_error', null]);
  const first =
    Array.isArray(base.details) && typeof base.details[0] === 'string' ? base.details[0] : base.message;
  return {
    status: base.statusCode,
    body: {
      error: {
        message: base.message,
        type,
        param:
          (typeof extra === 'object' && extra?.param) || (base.statusCode === 400 ? paramOf(first) : null),
        code: (typeof extra === 'object' && extra?.code) || code,
      },
    },
  };
}

/** Errors of the /v1 routes in OpenAI's shape (the rest of the API keeps the service's own). */
@Catch()
export class OpenAiErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('OpenAiError');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<Request & { id?: string }>();
    const res = ctx.getResponse<Response>();
    req.id ??= requestId(req, res);
    const { status, body } = toOpenAiError(exception);
    if (status >= 500)
      this.logger.error({ err: exception, requestId: req.id }, `${req.method} ${req.originalUrl} failed`);
    if (res.headersSent) {
      // Mid-stream: an error event in OpenAI's shape, then the end of the stream.
      if (!res.writableEnded) res.end(`data: ${JSON.stringify(body)}\n\n`);
      return;
    }
    setRetryAfter(res, status);
    res.status(status).json(body);
  }
}
