import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Params } from 'nestjs-pino';
import type { Options } from 'pino-http';
import pinoPretty from 'pino-pretty';
import { AppConfig } from '../../config/app.config';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Honour a sane incoming X-Request-Id (from a proxy), else mint one; echo it in the response. */
export function requestId(req: IncomingMessage, res: ServerResponse): string {
  const incoming = req.headers['x-request-id'];
  const id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
  res.setHeader('X-Request-Id', id);
  return id;
}

/**
 * pino logs, one line per request with its id, route, status and time: JSON, or (LOG_FORMAT=pretty, or auto on a
 * terminal) pino-pretty's readable lines.
 */
export function loggerParams(config: AppConfig): Params {
  const pretty =
    config.LOG_FORMAT === 'pretty' || (config.LOG_FORMAT === 'auto' && process.stdout.isTTY === true);
  const options: Options = {
    level: config.LOG_LEVEL,
    genReqId: requestId,
    customLogLevel: (_req, res, err) =>
      err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
    // Health probes and metrics scrapes would drown the log.
    autoLogging: { ignore: (req) => /^\/(health|metrics)/.test(req.url ?? '') },
    serializers: {
      req: (req: { id: string; method: string; url: string }) => ({
        id: req.id,
        method: req.method,
        url: req.url,
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
    redact: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-api-key"]'],
  };
  // In this thread, not as a transport: lines stay in order with the process's other output.
  return { pinoHttp: pretty ? [options, prettyStream()] : options };
}

function prettyStream() {
  return pinoPretty({
    colorize: process.stdout.isTTY === true,
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss',
    ignore: 'pid,hostname,req,res,responseTime,context',
    messageFormat: (log, messageKey) => {
      const req = log.req as { method?: string; url?: string } | undefined;
      const res = log.res as { statusCode?: number } | undefined;
      const context = typeof log.context === 'string' ? `[${log.context}] ` : '';
      const http =
        req && res ? `${req.method} ${req.url} ${res.statusCode} ${String(log.responseTime)} ms ` : '';
      return `${context}${http}${String(log[messageKey] ?? '')}`;
    },
  });
}
