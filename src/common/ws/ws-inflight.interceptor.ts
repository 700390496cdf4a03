import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { Socket } from 'socket.io';
import { finalize, Observable } from 'rxjs';
import { loadOf } from './socket-load';

/**
 * Counts the events of each socket being handled, from the handler's start to its end (ack or not), so the
 * adapter's admission check (socket-load.ts) can refuse a socket's events beyond WS_MAX_INFLIGHT.
 */
@Injectable()
export class WsInflightInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const load = loadOf(context.switchToWs().getClient<Socket>());
    load.inflight++;
    return next.handle().pipe(finalize(() => load.inflight--));
  }
}
