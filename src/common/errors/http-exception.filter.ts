import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { requestId } from '../http/logging';
import { toErrorBody } from './error-body';

/** Seconds a client is told to wait after a 429 or 503 that did not say (busy workers, a model loading). */
const RETRY_AFTER_S = 1;

/**
 * Every 429 and 503 says when to come back: the error's `details.retryAfterS` when it knows (rate limiters),
 * else RETRY_AFTER_S; a header set already (before routing) is kept.
 */
function setRetryAfter(res: Response, status: number, details: unknown): void {
  if ((status !== 429 && status !== 503) || res.getHeader('Retry-After')) return;
  const known = (details as { retryAfterS?: unknown } | undefined)?.retryAfterS;
  res.setHeader('Retry-After', String(typeof known === 'number' && known > 0 ? known : RETRY_AFTER_S));
}

/** Another error shape for the routes under a path prefix (e.g. OpenAI's under /v1/), body parsing included. */
export interface ErrorDialect {
  prefix: string;
  render(exception: unknown): { status: number; body: unknown };
}

/**
 * Every HTTP error leaves the service in the shape of ErrorBody, or of the dialect whose prefix the path has;
 * stack traces only go to the log.
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpError');

  constructor(private readonly dialects: readonly ErrorDialect[] = []) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') return;
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<Request & { id?: string }>();
    const res = ctx.getResponse<Response>();
    // Errors raised before the logger middleware ran (body parsing) have no id yet.
    req.id ??= requestId(req, res);
    const body = { ...toErrorBody(exception), requestId: String(req.id) };
    const dialect = this.dialects.find((d) => req.originalUrl.startsWith(d.prefix));
    const rendered = dialect?.render(exception) ?? { status: body.statusCode, body };
    if (body.statusCode >= 500) {
      this.logger.error(
        { err: exception, requestId: body.requestId },
        `${req.method} ${req.originalUrl} failed`,
      );
    }
    if (res.headersSent) {
      // A streamed response (SSE, file) that failed midway: nothing sane can be sent any more.
      res.destroy();
      return;
    }
    setRetryAfter(res, rendered.status, body.details);
    res.status(rendered.status).json(rendered.body);
  }
}
