import type { Response } from 'express';

/**
 * A server-sent-events writer over an Express response. The headers go out with the first event, so a failure
 * before it is still an ordinary error response. `event` omitted: a bare `data:` line (OpenAI's stream).
 */
export function sse(res: Response): { send(data: unknown, event?: string): void; started(): boolean } {
  return {
    started: () => res.headersSent,
    send(data: unknown, event?: string) {
      if (!res.headersSent) {
        res.status(200);
        res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
        res.setHeader('Cache-Control', 'no-cache, no-transform');
        res.setHeader('Connection', 'keep-alive');
        // nginx: pass events through as they come.
        res.setHeader('X-Accel-Buffering', 'no');
        res.flushHeaders();
      }
      res.write(`${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(data)}\n\n`);
    },
  };
}
