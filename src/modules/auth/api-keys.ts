import { HttpException, HttpStatus, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { Access } from '../../common/auth/access';
import { AuthConfig, authConfig } from './auth.config';

/** Shorter keys are refused at start-up: they could be guessed. */
export const MIN_KEY_CHARS = 16;

interface Key {
  digest: Buffer;
  expires: number;
  admin: boolean;
}

/** Thrown as 401: the client should send (another) key. */
export class MissingKey extends UnauthorizedException {}

/** Reads `k1,k2@2027-01-01` or a file of such lines into keys; a bad entry stops start-up with its position. */
export function parseKeys(spec: string, variable: string): { key: string; expires: number }[] {
  const trimmed = spec.trim();
  if (trimmed === '') return [];
  const fromFile = !trimmed.includes(',') && existsSync(trimmed);
  const entries = fromFile
    ? readFileSync(trimmed, 'utf8')
        .split('\n')
        .map((l) => l.replace(/#.*/, '').trim())
    : trimmed.split(',').map((e) => e.trim());
  return entries
    .filter((e) => e.length > 0)
    .map((entry, i) => {
      const at = entry.lastIndexOf('@');
      const key = at > 0 ? entry.slice(0, at) : entry;
      const expires = at > 0 ? Date.parse(entry.slice(at + 1)) : Infinity;
      const where = `${variable}${fromFile ? ` (${trimmed})` : ''}, entry ${i + 1}`;
      if (Number.isNaN(expires)) throw new Error(`${where}: "${entry.slice(at + 1)}" is not an ISO date.`);
      if (key.length < MIN_KEY_CHARS || /\s/.test(key))
        throw new Error(`${where}: a key needs at least ${MIN_KEY_CHARS} characters and no spaces.`);
      return { key, expires };
    });
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/**
 * The configured API keys and the decision for one presented key. Keys are kept as sha256 digests and
 * compared in constant time, every key each time; they are never logged. Failed attempts are counted per IP.
 */
@Injectable()
export class ApiKeys {
  private readonly keys: Key[];
  private readonly failures: RateLimiterMemory;
  /** Whether any key is configured: without, every route is open as before. */
  readonly enabled: boolean;
  /** API_KEYS set: every non-public route needs a key. ADMIN_API_KEYS alone guards the admin routes only. */
  private readonly keyRequired: boolean;
  private readonly hasAdmin: boolean;

  constructor(@Inject(authConfig.KEY) config: AuthConfig) {
    const user = parseKeys(config.API_KEYS, 'API_KEYS').map((k) => ({ ...k, admin: false }));
    const admin = parseKeys(config.ADMIN_API_KEYS, 'ADMIN_API_KEYS').map((k) => ({ ...k, admin: true }));
    this.keys = [...user, ...admin].map((k) => ({
      digest: digest(k.key),
      expires: k.expires,
      admin: k.admin,
    }));
    this.enabled = this.keys.length > 0;
    this.keyRequired = user.length > 0;
    this.hasAdmin = admin.length > 0;
    this.failures = new RateLimiterMemory({
      keyPrefix: 'auth-fail',
      points: config.AUTH_FAILURES_PER_MIN,
      duration: 60,
    });
  }

  /** Throws 401 (no or bad key), 403 (not an admin key) or 429 (too many failures from this IP). */
  async check(access: Access, presented: string | undefined, ip: string): Promise<void> {
    // Without any key configured everything is open, admin routes too (the README's two commands).
    if (access === 'public' || !this.enabled || (access === 'key' && !this.keyRequired)) return;
    await this.notBlocked(ip);
    if (presented === undefined || presented === '')
      throw await this.fail(
        ip,
        'An API key is required: send "Authorization: Bearer <key>" or "X-API-Key: <key>".',
      );
    const key = this.find(presented);
    if (!key) throw await this.fail(ip, 'The API key is not valid.');
    if (key.expires <= Date.now()) throw await this.fail(ip, 'The API key has expired.');
    if (access === 'admin' && !key.admin)
      throw new HttpException(
        this.hasAdmin
          ? 'This route changes server state and needs an admin key (ADMIN_API_KEYS).'
          : 'This route changes server state; it is closed because API_KEYS is set and ADMIN_API_KEYS is not.',
        HttpStatus.FORBIDDEN,
      );
  }

  private find(presented: string): Key | undefined {
    const d = digest(presented);
    let found: Key | undefined;
    for (const k of this.keys) if (timingSafeEqual(k.digest, d) && !found) found = k;
    return found;
  }

  private async notBlocked(ip: string): Promise<void> {
    const seen = await this.failures.get(ip);
    if (seen && seen.remainingPoints <= 0) throw this.tooMany(seen);
  }

  private async fail(ip: string, message: string): Promise<HttpException> {
    try {
      await this.failures.consume(ip);
    } catch (res) {
      if (res instanceof RateLimiterRes) return this.tooMany(res);
      throw res;
    }
    return new MissingKey(message);
  }

  private tooMany(res: RateLimiterRes): HttpException {
    const retryAfterS = Math.max(1, Math.ceil(res.msBeforeNext / 1000));
    return new HttpException(
      {
        message: `Too many failed authentication attempts; try again in ${retryAfterS} s.`,
        details: { retryAfterS },
      },
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
}
