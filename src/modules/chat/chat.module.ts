import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { ChatRateLimiter, ChatRateLimitGuard } from './chat-rate-limiter';
import { ChatRetrievalService } from './chat-retrieval.service';
import { ChatConfig, chatConfig } from './chat.config';
import { ChatController } from './chat.controller';
import { ChatGateway } from './chat.gateway';
import { ChatService } from './chat.service';
import { InMemorySessionStore, SESSION_STORE } from './session/session-store';

/**
 * The Korean chatbot: retrieval over the corpus with FAISS (REST, SSE, socket.io `/chat`). A text generator
 * joins by providing CHAT_GENERATOR (see chat-generator.ts) from a module the application imports.
 */
@Module({
  imports: [ConfigModule.forFeature(chatConfig)],
  controllers: [ChatController],
  providers: [
    ChatRetrievalService,
    ChatService,
    ChatGateway,
    ChatRateLimiter,
    ChatRateLimitGuard,
    {
      provide: SESSION_STORE,
      inject: [chatConfig.KEY],
      useFactory: (c: ChatConfig) =>
        new InMemorySessionStore({
          maxTurns: c.CHAT_HISTORY_TURNS,
          ttlMs: c.CHAT_SESSION_TTL_S * 1000,
          maxSessions: c.CHAT_MAX_SESSIONS,
        }),
    },
  ],
  exports: [ChatService, ChatRetrievalService],
})
export class ChatModule {}
