import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { GenerationModule } from '../generation/generation.module';
import { RedisConnections } from '../redis/redis-connections';
import { ChatRateLimiter, ChatRateLimitGuard } from './chat-rate-limiter';
import { ChatRetrievalService } from './chat-retrieval.service';
import { ChatConfig, chatConfig } from './chat.config';
import { ChatController } from './chat.controller';
import { ChatMessages } from './chat.message.controller';
import { ChatGateway } from './chat.gateway';
import { ChatService } from './chat.service';
import { RedisSessionStore } from './session/redis-session-store';
import { InMemorySessionLock, RedisSessionLock, SESSION_LOCK } from './session/session-lock';
import { InMemorySessionStore, SESSION_STORE, SessionLimits } from './session/session-store';

const limits = (c: ChatConfig): SessionLimits => ({
  maxTurns: c.CHAT_HISTORY_TURNS,
  ttlMs: c.CHAT_SESSION_TTL_S * 1000,
  maxSessions: c.CHAT_MAX_SESSIONS,
});

/**
 * The Korean chatbot: retrieval over the corpus with FAISS (REST, SSE, socket.io `/chat`); generation through
 * the CHAT_GENERATOR port, which the imported GenerationModule serves (TextGeneratorChat). With
 * REDIS_URL, sessions, rate limits and the per-session lock live in Redis, shared by every instance.
 */
@Module({
  imports: [ConfigModule.forFeature(chatConfig), GenerationModule],
  controllers: [ChatController, ChatMessages],
  providers: [
    ChatRetrievalService,
    ChatService,
    ChatGateway,
    ChatRateLimiter,
    ChatRateLimitGuard,
    {
      provide: SESSION_STORE,
      inject: [chatConfig.KEY, RedisConnections],
      useFactory: (c: ChatConfig, redis: RedisConnections) =>
        redis.enabled
          ? new RedisSessionStore(redis.client(), limits(c), redis.prefix)
          : new InMemorySessionStore(limits(c)),
    },
    {
      provide: SESSION_LOCK,
      inject: [chatConfig.KEY, RedisConnections],
      useFactory: (c: ChatConfig, redis: RedisConnections) =>
        redis.enabled
          ? new RedisSessionLock(redis.client(), {
              keyPrefix: `${redis.prefix}chat:lock:`,
              waitMs: c.CHAT_LOCK_WAIT_MS,
            })
          : new InMemorySessionLock({ waitMs: c.CHAT_LOCK_WAIT_MS }),
    },
  ],
  exports: [ChatService, ChatRetrievalService, ChatRateLimiter, ChatRateLimitGuard],
})
export class ChatModule {}
