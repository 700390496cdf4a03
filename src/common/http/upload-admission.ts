import { ServiceUnavailableException } from '@nestjs/common';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { closeAfterAnswer } from './linger';

/**
 * A server-wide budget for multipart bodies held in memory. Each multipart request reserves its declared
 * Content-Length (or, when it declares none, the most one upload may be) until it is answered or cut;
 * a request that would exceed UPLOADS_INFLIGHT_MAX_BYTES gets a 503 with Retry-After at once and the
 * connection closes after a lingering read (closeAfterAnswer), so the client reads the 503, not a reset. Many held-open uploads then bound memory instead of growing it.
 */
export function uploadAdmission(budget: number, perRequestMax: number): RequestHandler {
  let reserved = 0;
  return (req: Request, res: Response, next: NextFunction) => {
    if (!req.is('multipart/form-data')) return next();
    const declared = Number(req.headers['content-length']);
    const want =
      Number.isFinite(declared) && declared >= 0 ? Math.min(declared, perRequestMax) : perRequestMax;
    if (reserved + want > budget) {
      res.setHeader('Retry-After', '1');
      closeAfterAnswer(req, res);
      return next(
        new ServiceUnavailableException(
          'The server is receiving too many uploads right now; try again in a moment.',
        ),
      );
    }
    reserved += want;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      reserved -= want;
    };
    res.once('close', release);
    req.once('close', release);
    next();
  };
}
