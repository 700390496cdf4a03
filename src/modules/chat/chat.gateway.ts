import { UseFilters, UseGuards, UsePipes } from '@nestjs/common';
import {
  ConnectedSocket,
  MessageBody,
  OnGatewayConnection,
  OnGatewayDisconnect,
  SubscribeMessage,
  WebSocketGateway,
} from '@nestjs/websockets';
import type { Socket } from 'socket.io';
import { createValidationPipe } from '../../common/http/validation';
import { WsExceptionFilter } from '../../common/ws/ws-exception.filter';
import { ChatRateLimitGuard } from './chat-rate-limiter';
import { ChatReply, ChatService, SESSION_ID } from './chat.service';
import { ChatSocketMessageDto } from './dto/chat.dto';

interface ChatSocketData {
  sessionId: string;
  /** Work of this socket in progress, aborted when it disconnects. */
  inflight: Set<AbortController>;
}

/**
 * socket.io namespace `/chat`. Each connection gets a session (`session` event), or resumes the one named in
 * `handshake.auth.sessionId` (or the `sessionId` query parameter). `message` `{ text, sessionId? }` is answered
 * in its acknowledgement and a `reply` event, with `token` events first for generated answers. Bad payloads
 * and rate limits produce an `error` event; the socket stays usable.
 */
@WebSocketGateway({ namespace: '/chat' })
@UseFilters(new WsExceptionFilter())
@UsePipes(createValidationPipe())
export class ChatGateway implements OnGatewayConnection, OnGatewayDisconnect {
  constructor(private readonly chat: ChatService) {}

  handleConnection(client: Socket): void {
    const auth = client.handshake.auth as { sessionId?: unknown } | undefined;
    const asked = auth?.sessionId ?? client.handshake.query?.sessionId;
    const sessionId = typeof asked === 'string' && SESSION_ID.test(asked) ? asked : this.chat.newSessionId();
    const data = client.data as ChatSocketData;
    data.sessionId = sessionId;
    data.inflight = new Set();
    client.emit('session', { sessionId });
  }

  handleDisconnect(client: Socket): void {
    const data = client.data as Partial<ChatSocketData>;
    for (const controller of data.inflight ?? []) controller.abort();
  }

  @UseGuards(ChatRateLimitGuard)
  @SubscribeMessage('message')
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
