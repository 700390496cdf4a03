import { CanActivate, ExecutionContext, HttpException, HttpStatus, Inject, Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { Socket } from 'socket.io';
import { ChatConfig, chatConfig } from './chat.config';

/**
 * Message rate limits: per socket.io connection (CHAT_RATE_LIMIT_PER_MIN) and per client IP for HTTP and
 * socket.io together (CHAT_RATE_LIMIT_IP_PER_MIN). A socket over its own limit is refused without spending
 * its IP's budget, so one flooding tab does not silence its neighbours.
 */
@Injectable()
export class ChatRateLimiter {
  private readonly perSocket?: RateLimiterMemory;
  private readonly perIp?: RateLimiterMemory;

  constructor(@Inject(chatConfig.KEY) config: ChatConfig) {
    if (config.CHAT_RATE_LIMIT_PER_MIN > 0)
      this.perSocket = new RateLimiterMemory({
        keyPrefix: 'chat-socket',
        points: config.CHAT_RATE_LIMIT_PER_MIN,
        duration: 60,
      });
    if (config.CHAT_RATE_LIMIT_IP_PER_MIN > 0)
      this.perIp = new RateLimiterMemory({
        keyPrefix: 'chat-ip',
        points: config.CHAT_RATE_LIMIT_IP_PER_MIN,
        duration: 60,
      });
  }

  /** Throws 429 (with `details.retryAfterS`) when the client is over a limit. */
  async consume(ip: string, socketId?: string): Promise<void> {
    if (socketId !== undefined && this.perSocket) await take(this.perSocket, socketId);
    if (this.perIp) await take(this.perIp, ip);
  }
}

async function take(limiter: RateLimiterMemory, key: string): Promise<void> {
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
  constructor(private readonly limiter: ChatRateLimiter) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() === 'ws') {
      const socket = context.switchToWs().getClient<Socket>();
      await this.limiter.consume(socket.handshake.address, socket.id);
      return true;
    }
    const req = context.switchToHttp().getRequest<Request>();
    try {
      await this.limiter.consume(req.ip ?? req.socket.remoteAddress ?? 'unknown');
    } catch (err) {
      const retry = ((err as HttpException).getResponse?.() as { details?: { retryAfterS?: number } })
        ?.details;
      if (retry?.retryAfterS)
        context.switchToHttp().getResponse<Response>().setHeader('Retry-After', String(retry.retryAfterS));
      throw err;
    }
    return true;
  }
}
