import { ConfigType } from '@nestjs/config';
import { IsArray, IsIn, IsInt, IsString, Matches, Max, Min, MinLength } from 'class-validator';
import { defineConfig, EnvBytes, EnvList, Expose } from './env';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const LOG_FORMATS = ['auto', 'pretty', 'json'] as const;

/** Variables shared by the whole service. Capability modules declare their own next to their code. */
export class AppEnv {
  @Expose() @IsInt() @Min(0) @Max(65535) PORT: number = 3000;
  @Expose() @IsString() @MinLength(1) HOST: string = '0.0.0.0';
  @Expose() @IsIn(LOG_LEVELS) LOG_LEVEL: (typeof LOG_LEVELS)[number] = 'info';
  /** `pretty`: one readable line per entry; `json`: pino's JSON; `auto`: pretty when stdout is a terminal. */
  @Expose() @IsIn(LOG_FORMATS) LOG_FORMAT: (typeof LOG_FORMATS)[number] = 'auto';
  @Expose() @IsString() MODELS_DIR: string = 'models';
  @Expose() @IsString() UPLOAD_DIR: string = 'data/uploads';
  @Expose() @IsString() OUTPUT_DIR: string = 'data/output';
  /** Largest JSON or form body accepted, e.g. "100kb". */
  @Expose() @EnvBytes() @IsInt() @Min(1024) BODY_LIMIT: number = 100 * 1024;
  /** Longest time to receive one request, headers and body (uploads included); then 408 and the connection closes. */
  @Expose() @IsInt() @Min(1000) HTTP_REQUEST_TIMEOUT_MS: number = 60_000;
  /** Largest uploaded file (multipart or socket.io binary), e.g. "10mb". */
  @Expose() @EnvBytes() @IsInt() @Min(1024) UPLOAD_MAX_BYTES: number = 10 * 1024 * 1024;
  /** Multipart bodies held in memory at once, server-wide (each reserves its Content-Length); beyond: 503. */
  @Expose() @EnvBytes() @IsInt() @Min(1024) UPLOADS_INFLIGHT_MAX_BYTES: number = 128 * 1024 * 1024;
  /** Decoded images larger than this many pixels are refused before decoding (decompression bombs). */
  @Expose() @IsInt() @Min(1) IMAGE_MAX_PIXELS: number = 40_000_000;
  /** Origins allowed by CORS for HTTP and socket.io: "*" for any, empty for none (same-origin only). */
  @Expose() @EnvList() @IsArray() @IsString({ each: true }) CORS_ORIGINS: string[] = [];
  /**
   * Proxies whose X-Forwarded-For is believed, for the client address (rate limits, logs): addresses,
   * subnets, or `loopback`, `linklocal`, `uniquelocal`; empty (default) trusts none. Behind nginx on the
   * same host: `loopback`; in docker-compose: `uniquelocal`.
   */
  @Expose()
  @EnvList()
  @IsArray()
  @Matches(/^(loopback|linklocal|uniquelocal|[0-9a-fA-F.:]+(\/\d{1,3})?)$/, { each: true })
  TRUST_PROXY: string[] = [];
  @Expose() @IsInt() @Min(1000) WS_PING_INTERVAL_MS: number = 25_000;
  @Expose() @IsInt() @Min(1000) WS_PING_TIMEOUT_MS: number = 20_000;
  /** Events of one socket.io connection handled at a time; beyond, the event gets a 429 at once. */
  @Expose() @IsInt() @Min(1) @Max(1000) WS_MAX_INFLIGHT: number = 4;
  /** A connection refused this many times within 10 s (by WS_MAX_INFLIGHT) is disconnected. */
  @Expose() @IsInt() @Min(1) WS_FLOOD_DISCONNECT: number = 100;
  /** How long SIGTERM waits for in-flight work before the process exits anyway. */
  @Expose() @IsInt() @Min(0) SHUTDOWN_TIMEOUT_MS: number = 10_000;
}

export const appConfig = defineConfig('app', AppEnv);
export type AppConfig = ConfigType<typeof appConfig>;
