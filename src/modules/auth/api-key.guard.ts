import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { Access, ACCESS } from '../../common/auth/access';
import { presentedKey } from '../../common/auth/presented-key';
import { ApiKeys, MissingKey } from './api-keys';

/**
 * Every HTTP route needs a key once API_KEYS (or ADMIN_API_KEYS) is set, unless marked @Public(); @AdminOnly()
 * routes need an admin key. socket.io is checked once, at the handshake (see AuthModule); the internal Redis
 * message transport is not checked.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly keys: ApiKeys,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http' || !this.keys.enabled) return true;
    const access =
      this.reflector.getAllAndOverride<Access | undefined>(ACCESS, [
        context.getHandler(),
        context.getClass(),
      ]) ?? 'key';
    const req = context.switchToHttp().getRequest<Request>();
    const res = context.switchToHttp().getResponse<Response>();
    try {
      await this.keys.check(
        access,
        presentedKey(req.headers),
        req.ip ?? req.socket.remoteAddress ?? 'unknown',
      );
    } catch (err) {
      // A 429's details.retryAfterS becomes its Retry-After header (HttpExceptionFilter).
      if (err instanceof MissingKey) res.setHeader('WWW-Authenticate', 'Bearer realm="ko-ai-server"');
      throw err;
    }
    return true;
  }
}
