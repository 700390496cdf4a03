import { ConfigType } from '@nestjs/config';
import { IsInt, IsString, Max, Min } from 'class-validator';
import { defineConfig, Expose } from '../../config/env';

export class AuthEnv {
  /**
   * API keys that open every route but health, docs and the demo's static files: comma-separated, or the path
   * of a file with one per line (# comments). `key@2027-01-01` expires at that ISO time. Empty: no keys needed.
   */
  @Expose() @IsString() API_KEYS: string = '';
  /** Keys (same syntax) for the routes that change server state for everyone; they open every other route too. */
  @Expose() @IsString() ADMIN_API_KEYS: string = '';
  /** Failed authentications per client IP per minute before it gets 429 for the rest of the minute. */
  @Expose() @IsInt() @Min(1) @Max(10_000) AUTH_FAILURES_PER_MIN: number = 10;
}

export const authConfig = defineConfig('auth', AuthEnv);
export type AuthConfig = ConfigType<typeof authConfig>;
