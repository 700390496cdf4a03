import { ArgumentsHost, Catch, Logger, RpcExceptionFilter } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { randomUUID } from 'node:crypto';
import { Observable, throwError } from 'rxjs';
import { ErrorBody, toErrorBody } from './error-body';

/** ErrorBody of an exception thrown in a message handler (HttpException, RpcException or anything else). */
export function toRpcError(exception: unknown): ErrorBody {
  if (exception instanceof RpcException) {
    const e = exception.getError();
    if (typeof e === 'string') return { statusCode: 400, error: 'Bad Request', message: e };
    return { statusCode: 400, error: 'Bad Request', message: 'Bad request.', ...(e as object) };
  }
  return toErrorBody(exception);
}

/**
 * The message transport's twin of HttpExceptionFilter: any exception in a `@MessagePattern` handler (failed
 * validation, 4xx from the services, a crash) reaches the client as the error of its `send()` observable,
 * in the ErrorBody shape with a request id; stack traces only go to the log. The instance keeps serving.
 * Use it per controller (`@UseFilters(new MessageExceptionFilter())`) so that it wins over the inherited
 * global HTTP filter.
 */
@Catch()
export class MessageExceptionFilter implements RpcExceptionFilter<unknown> {
  private readonly logger = new Logger('MessageError');

  catch(exception: unknown, host: ArgumentsHost): Observable<never> {
    const body: ErrorBody = { ...toRpcError(exception), requestId: randomUUID() };
    if (body.statusCode >= 500) {
      const ctx = host.switchToRpc().getContext<{ getChannel?: () => string } | undefined>();
      this.logger.error(
        { err: exception, requestId: body.requestId, channel: ctx?.getChannel?.() },
        'message handler failed',
      );
    }
    return throwError(() => body);
  }
}
