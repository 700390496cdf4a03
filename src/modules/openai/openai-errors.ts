import { HttpException } from '@nestjs/common';
import { toErrorBody } from '../../common/errors/error-body';
import type { ErrorDialect } from '../../common/errors/http-exception.filter';

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

/** Errors under /v1/ (the routes, unknown paths and body parsing alike) in OpenAI's shape: see app.setup.ts. */
export const OPENAI_ERRORS: ErrorDialect = { prefix: '/v1/', render: toOpenAiError };
