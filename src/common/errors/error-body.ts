import { HttpException, HttpStatus } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';

/** The one error shape of the service, for HTTP bodies and socket.io `error` events alike. */
export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  requestId?: string;
  details?: unknown;
}

/** Errors thrown by libraries (body-parser, busboy) that carry an HTTP status of their own. */
interface StatusError {
  status?: number;
  statusCode?: number;
  type?: string;
  message?: string;
  expose?: boolean;
}

const LIBRARY_MESSAGES: Record<string, string> = {
  'entity.too.large': 'Request body is too large.',
  'entity.parse.failed': 'Request body is not valid JSON.',
  'encoding.unsupported': 'Request body encoding is not supported.',
  'charset.unsupported': 'Request body charset is not supported.',
  'request.aborted': 'Request was aborted by the client.',
};

export function toErrorBody(exception: unknown): ErrorBody {
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const response = exception.getResponse();
    let message: string = exception.message;
    let details: unknown;
    if (typeof response === 'string') {
      message = response;
    } else if (response && typeof response === 'object') {
      const r = response as { message?: unknown; details?: unknown };
      if (Array.isArray(r.message)) {
        // ValidationPipe: one sentence listing every problem, the list itself as details.
        details = r.message;
        message = r.message.join('; ');
      } else if (typeof r.message === 'string') {
        message = r.message;
      }
      if (r.details !== undefined) details = r.details;
    }
    return withDetails({ statusCode: status, error: reason(status), message: sentence(message) }, details);
  }
  const se = exception as StatusError | undefined;
  const status = se?.statusCode ?? se?.status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const message = (se?.type && LIBRARY_MESSAGES[se.type]) || (se?.expose && se.message) || reason(status);
    return { statusCode: status, error: reason(status), message: sentence(String(message)) };
  }
  return {
    statusCode: HttpStatus.INTERNAL_SERVER_ERROR,
    error: reason(HttpStatus.INTERNAL_SERVER_ERROR),
    message: 'Internal server error.',
  };
}

function withDetails(body: ErrorBody, details: unknown): ErrorBody {
  return details === undefined ? body : { ...body, details };
}

function reason(status: number): string {
  return STATUS_CODES[status] ?? 'Error';
}

/** Library messages can span lines (libvips does); clients get the first line only. */
function sentence(message: string): string {
  const first = message.split('\n')[0].trim();
  return first.length > 0 ? first : 'Error.';
}
