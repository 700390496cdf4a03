import { OnModuleDestroy, UseFilters, UseGuards, UseInterceptors, UsePipes } from '@nestjs/common';
import {
  ConnectedSocket,
  MessageBody,
  OnGatewayConnection,
  OnGatewayDisconnect,
  OnGatewayInit,
  SubscribeMessage,
  WebSocketGateway,
} from '@nestjs/websockets';
import type { Subscription } from 'rxjs';
import type { Namespace, Socket } from 'socket.io';
import { createValidationPipe } from '../../common/http/validation';
import { WsInflightInterceptor } from '../../common/ws/ws-inflight.interceptor';
import { WsExceptionFilter } from '../../common/ws/ws-exception.filter';
import { ChatRateLimitGuard } from './chat-rate-limiter';
import { ChatSource } from './chat.types';
import { ChatReply, ChatService, SESSION_ID, SessionTurnAppended } from './chat.service';
import { ChatSocketMessageDto } from './dto/chat.dto';

interface ChatSocketData {
  sessionId: string;
  /** Work of this socket in progress, aborted when it disconnects. */
  inflight: Set<AbortController>;
}

/** The `turn` event: one side of an exchange appended to a session's history. */
export interface TurnEvent {
  sessionId: string;
  role: 'user' | 'bot';
  text: string;
  /** What answered (bot turns only). */
  source?: ChatSource;
  /** ISO 8601 time the exchange was stored. */
  at: string;
}

/** The room of a session's sockets, on every instance. */
export const sessionRoom = (sessionId: string) => `session:${sessionId}`;

/**
 * socket.io namespace `/chat`. Each connection gets a session (`session` event), or resumes the one named in
 * `handshake.auth.sessionId` (or the `sessionId` query parameter). `message` `{ text, sessionId? }` is answered
 * in its acknowledgement and a `reply` event, with `token` events first for generated answers. Bad payloads
 * and rate limits produce an `error` event; the socket stays usable.
 *
 * Every socket joins the room `session:<sessionId>` of its session. Whenever a turn is appended to a session,
 * by any transport (REST `POST /chat`, SSE, `GET /chat/greeting`, socket.io) on any instance, its room gets
 * two `turn` events, `{ sessionId, role: 'user', text, at }` then `{ sessionId, role: 'bot', text, source,
 * at }`, after the turn is stored. So every tab of a conversation sees it, whichever instance it is
 * connected to (with REDIS_URL the rooms span instances through the socket.io Redis adapter). The socket that
 * sent the message gets them too, just before its `reply` and acknowledgement. A message sent with another
 * `sessionId` than the socket's goes to that session's room.
 */
@WebSocketGateway({ namespace: '/chat' })
@UseFilters(new WsExceptionFilter())
@UseInterceptors(WsInflightInterceptor)
@UsePipes(createValidationPipe())
export class ChatGateway implements OnGatewayInit, OnGatewayConnection, OnGatewayDisconnect, OnModuleDestroy {
  private subscription?: Subscription;

  constructor(private readonly chat: ChatService) {}

  afterInit(server: Namespace): void {
    this.subscription = this.chat.turns.subscribe((appended) => this.relay(server, appended));
  }

  onModuleDestroy(): void {
    this.subscription?.unsubscribe();
  }

  /** Emits a stored turn to its session's room (through the adapter: on every instance). */
  private relay(server: Namespace, { sessionId, turn }: SessionTurnAppended): void {
    const room = server.to(sessionRoom(sessionId));
    const user: TurnEvent = { sessionId, role: 'user', text: turn.user, at: turn.at };
    const bot: TurnEvent = { sessionId, role: 'bot', text: turn.bot, source: turn.source, at: turn.at };
    room.emit('turn', user);
    room.emit('turn', bot);
  }

  handleConnection(client: Socket): void {
    const auth = client.handshake.auth as { sessionId?: unknown } | undefined;
    const asked = auth?.sessionId ?? client.handshake.query?.sessionId;
    const sessionId = typeof asked === 'string' && SESSION_ID.test(asked) ? asked : this.chat.newSessionId();
    const data = client.data as ChatSocketData;
    data.sessionId = sessionId;
    data.inflight = new Set();
    void client.join(sessionRoom(sessionId));
    client.emit('session', { sessionId });
  }

  handleDisconnect(client: Socket): void {
    const data = client.data as Partial<ChatSocketData>;
    for (const controller of data.inflight ?? []) controller.abort();
  }

  /** The first name of `chat.message`, kept for existing clients. */
  @UseGuards(ChatRateLimitGuard)
  @SubscribeMessage('message')
  onMessageAlias(
    @ConnectedSocket() client: Socket,
    @MessageBody() body: ChatSocketMessageDto,
  ): Promise<ChatReply> {
    return this.onMessage(client, body);
  }

  @UseGuards(ChatRateLimitGuard)
  @SubscribeMessage('chat.message')
  async onMessage(
    @ConnectedSocket() client: Socket,
    @MessageBody() body: ChatSocketMessageDto,
  ): Promise<ChatReply> {
    const data = client.data as ChatSocketData;
    const controller = new AbortController();
    data.inflight.add(controller);
    try {
      const reply = await this.chat.reply(body.text, {
        sessionId: body.sessionId ?? data.sessionId,
        signal: controller.signal,
        generation: body.generation,
        onToken: (text, index) => client.emit('token', { text, index }),
      });
      client.emit('reply', reply);
      return reply;
    } finally {
      data.inflight.delete(controller);
    }
  }
}
