import { CanActivate, ExecutionContext, HttpException, HttpStatus, Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import proxyaddr from 'proxy-addr';
import {
  RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  RLWrapperTimeouts,
} from 'rate-limiter-flexible';
import type { Socket } from 'socket.io';
import { AppConfig, appConfig } from '../../config/app.config';
import { RedisConnections } from '../redis/redis-connections';
import { ChatConfig, chatConfig } from './chat.config';

/**
 * Message rate limits: per socket.io connection (CHAT_RATE_LIMIT_PER_MIN) and per client IP for HTTP and
 * socket.io together (CHAT_RATE_LIMIT_IP_PER_MIN). A socket over its own limit is refused without spending
 * its IP's budget, so one flooding tab does not silence its neighbours.
 *
 * With REDIS_URL the per-IP budget is counted in Redis (keys `<prefix>chat-ip:<ip>`), shared by every
 * instance behind the balancer. While Redis is unreachable it falls back to a per-instance counter with the
 * same limit (the insurance limiter), so an outage loosens the limit rather than failing messages: at once
 * while the connection is down (`rejectIfRedisNotReady`), and after REDIS_TIMEOUT_MS for a command caught in
 * flight when Redis went away (ioredis would otherwise hold it for its reconnection retries, ~10 s). A socket
 * lives on one instance, so its own limit always stays in memory.
 */
const REDIS_TIMEOUT_MS = 500;

@Injectable()
export class ChatRateLimiter {
  private readonly perSocket?: RateLimiterMemory;
  private readonly perIp?: RateLimiterAbstract;

  constructor(@Inject(chatConfig.KEY) config: ChatConfig, redis: RedisConnections) {
    if (config.CHAT_RATE_LIMIT_PER_MIN > 0)
      this.perSocket = new RateLimiterMemory({
        keyPrefix: 'chat-socket',
        points: config.CHAT_RATE_LIMIT_PER_MIN,
        duration: 60,
      });
    if (config.CHAT_RATE_LIMIT_IP_PER_MIN > 0) {
      const perIp = { keyPrefix: 'chat-ip', points: config.CHAT_RATE_LIMIT_IP_PER_MIN, duration: 60 };
      this.perIp = redis.enabled
        ? new RLWrapperTimeouts({
            timeoutMs: REDIS_TIMEOUT_MS,
            limiter: new RateLimiterRedis({
              ...perIp,
              keyPrefix: `${redis.prefix}chat-ip`,
              storeClient: redis.client(),
              rejectIfRedisNotReady: true,
              insuranceLimiter: new RateLimiterMemory(perIp),
            }),
          })
        : new RateLimiterMemory(perIp);
    }
  }

  /** Throws 429 (with `details.retryAfterS`) when the client is over a limit. */
  async consume(ip: string, socketId?: string): Promise<void> {
    if (socketId !== undefined && this.perSocket) await take(this.perSocket, socketId);
    if (this.perIp) await take(this.perIp, ip);
  }
}

async function take(limiter: RateLimiterAbstract, key: string): Promise<void> {
  try {
    await limiter.consume(key);
  } catch (res) {
    if (!(res instanceof RateLimiterRes)) throw res;
    const retryAfterS = Math.max(1, Math.ceil(res.msBeforeNext / 1000));
    throw new HttpException(
      { message: `Too many messages; try again in ${retryAfterS} s.`, details: { retryAfterS } },
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
}

/** Applies ChatRateLimiter to an HTTP route (answering 429 with Retry-After) or a gateway handler. */
@Injectable()
export class ChatRateLimitGuard implements CanActivate {
  /** Which peers' X-Forwarded-For to believe (TRUST_PROXY); HTTP gets the same from Express's `trust proxy`. */
  private readonly trusted?: (addr: string, i: number) => boolean;

  constructor(
    private readonly limiter: ChatRateLimiter,
    @Inject(appConfig.KEY) app: AppConfig,
  ) {
    if (app.TRUST_PROXY.length > 0) this.trusted = proxyaddr.compile(app.TRUST_PROXY);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() === 'ws') {
      const socket = context.switchToWs().getClient<Socket>();
      // Behind nginx every socket comes from the proxy's address: its X-Forwarded-For names the client.
      const ip = this.trusted ? proxyaddr(socket.request, this.trusted) : socket.handshake.address;
      await this.limiter.consume(ip, socket.id);
      return true;
    }
    // The 429's details.retryAfterS becomes its Retry-After header (HttpExceptionFilter).
    const req = context.switchToHttp().getRequest<Request>();
    await this.limiter.consume(req.ip ?? req.socket.remoteAddress ?? 'unknown');
    return true;
  }
}
