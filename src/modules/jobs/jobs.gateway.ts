import { BadRequestException, OnModuleDestroy, UseFilters, UseInterceptors, UsePipes } from '@nestjs/common';
import {
  ConnectedSocket,
  MessageBody,
  OnGatewayInit,
  SubscribeMessage,
  WebSocketGateway,
  WebSocketServer,
} from '@nestjs/websockets';
import type { Namespace, Socket } from 'socket.io';
import { createValidationPipe } from '../../common/http/validation';
import { WsInflightInterceptor } from '../../common/ws/ws-inflight.interceptor';
import { WsExceptionFilter } from '../../common/ws/ws-exception.filter';
import { JobEvent, JobView } from './job-queue';
import { JobSubscribeDto } from './dto/jobs.dto';
import { JobsService } from './jobs.service';

/** Jobs one socket may follow at once. */
const MAX_SUBSCRIPTIONS = 64;

export function jobRoom(jobId: string): string {
  return `job:${jobId}`;
}

/**
 * socket.io namespace `/jobs`. `subscribe` `{ jobId }` joins the room `job:<jobId>` and acknowledges with
 * the job as `GET /jobs/:id` shows it; the room then gets `progress` `{ jobId, done, total, file }` after
 * each file, and `completed` or `failed` with the whole job. `unsubscribe` `{ jobId }` leaves. Events come
 * from the JobQueue of this instance, which sees every job's events (with Redis: jobs running on any
 * instance), so they are emitted to this instance's sockets only. Unknown job or bad payload: an `error`
 * event (and `{ error }` in the acknowledgement).
 */
@WebSocketGateway({ namespace: '/jobs' })
@UseFilters(new WsExceptionFilter())
@UseInterceptors(WsInflightInterceptor)
@UsePipes(createValidationPipe())
export class JobsGateway implements OnGatewayInit, OnModuleDestroy {
  @WebSocketServer() private readonly server!: Namespace;
  private stopListening?: () => void;

  constructor(private readonly jobs: JobsService) {}

  afterInit(): void {
    this.stopListening = this.jobs.queue.subscribe((event) => this.forward(event));
  }

  onModuleDestroy(): void {
    this.stopListening?.();
  }

  /** The first names of `jobs.subscribe` / `jobs.unsubscribe`, kept for existing clients. */
  @SubscribeMessage('subscribe')
  subscribeAlias(@ConnectedSocket() client: Socket, @MessageBody() body: JobSubscribeDto): Promise<JobView> {
    return this.subscribe(client, body);
  }

  @SubscribeMessage('unsubscribe')
  unsubscribeAlias(
    @ConnectedSocket() client: Socket,
    @MessageBody() body: JobSubscribeDto,
  ): Promise<{ jobId: string; subscribed: false }> {
    return this.unsubscribe(client, body);
  }

  @SubscribeMessage('jobs.subscribe')
  async subscribe(@ConnectedSocket() client: Socket, @MessageBody() body: JobSubscribeDto): Promise<JobView> {
    const room = jobRoom(body.jobId);
    if (!client.rooms.has(room) && client.rooms.size > MAX_SUBSCRIPTIONS) {
      throw new BadRequestException(`A socket follows at most ${MAX_SUBSCRIPTIONS} jobs; unsubscribe first.`);
    }
    // Joined before reading, so no event falls between the state read and the subscription.
    await client.join(room);
    try {
      return await this.jobs.get(body.jobId);
    } catch (err) {
      await client.leave(room);
      throw err;
    }
  }

  @SubscribeMessage('jobs.unsubscribe')
  async unsubscribe(
    @ConnectedSocket() client: Socket,
    @MessageBody() body: JobSubscribeDto,
  ): Promise<{ jobId: string; subscribed: false }> {
    await client.leave(jobRoom(body.jobId));
    return { jobId: body.jobId, subscribed: false };
  }

  private forward(event: JobEvent): void {
    // Every instance forwards the events it sees to its own sockets; `local` keeps a socket.io adapter
    // shared through Redis from delivering them once per instance.
    switch (event.type) {
      case 'progress':
        this.server.local.to(jobRoom(event.progress.jobId)).emit('progress', event.progress);
        break;
      case 'completed':
      case 'failed':
        this.server.local.to(jobRoom(event.job.jobId)).emit(event.type, event.job);
        break;
    }
  }
}
