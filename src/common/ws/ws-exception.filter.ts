import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import { WsException } from '@nestjs/websockets';
import type { Socket } from 'socket.io';
import { ErrorBody, toErrorBody } from '../errors/error-body';

/** What a socket.io client receives in an `error` event (and in the acknowledgement, when it asked for one). */
export interface WsErrorPayload extends ErrorBody {
  /** Machine-readable code, e.g. "bad_request", "too_many_requests", "service_unavailable". */
  code: string;
}

export function toWsError(exception: unknown): WsErrorPayload {
  let body: ErrorBody;
  if (exception instanceof WsException) {
    const e = exception.getError();
    body =
      typeof e === 'string'
        ? { statusCode: 400, error: 'Bad Request', message: e }
        : { statusCode: 400, error: 'Bad Request', message: 'Bad request.', ...(e as object) };
  } else {
    body = toErrorBody(exception);
  }
  return { ...body, code: body.error.toLowerCase().replace(/[^a-z0-9]+/g, '_') };
}

/**
 * Turns any exception in a gateway handler into an `error` event for that socket only; the socket stays
 * connected and other clients are unaffected. If the client sent an acknowledgement callback it gets
 * `{ error }` too, so it never waits forever.
 */
@Catch()
export class WsExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('WsError');

  catch(exception: unknown, host: ArgumentsHost): void {
    const client = host.switchToWs().getClient<Socket>();
    const payload = toWsError(exception);
    if (payload.statusCode >= 500)
      this.logger.error({ err: exception, socket: client.id }, 'gateway handler failed');
    client.emit('error', payload);
    const ack = host.getArgs().find((a, i) => i > 0 && typeof a === 'function') as
      ((r: unknown) => void) | undefined;
    ack?.({ error: payload });
  }
}
