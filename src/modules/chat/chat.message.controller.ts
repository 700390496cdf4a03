import { Controller, UseFilters } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { MessageExceptionFilter } from '../../common/errors/rpc-exception.filter';
import { ChatReply, ChatService } from './chat.service';
import { ChatRequestDto } from './dto/chat.dto';

/**
 * The message transport (NestJS Redis transport, when REDIS_URL is set): `chat.message` takes the body of
 * `POST /chat` (`{ message, sessionId?, generation? }`, validated the same way) and answers the same reply.
 * Errors reach the client in the ErrorBody shape. No rate limit: the transport is for trusted back-end
 * services on the Redis network, not for end users.
 */
@Controller()
@UseFilters(new MessageExceptionFilter())
export class ChatMessages {
  constructor(private readonly chat: ChatService) {}

  @MessagePattern('chat.message')
  message(@Payload() body: ChatRequestDto): Promise<ChatReply> {
    return this.chat.reply(body.message, { sessionId: body.sessionId, generation: body.generation });
  }
}
