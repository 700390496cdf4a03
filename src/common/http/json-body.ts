import type { NextFunction, Request, RequestHandler, Response } from 'express';
import bodyParser from 'body-parser';
import { closeAfterAnswer } from './linger';

/**
 * body-parser with its limit enforced at once. body-parser itself, past its limit, reads the rest of the
 * request before answering, so a client streaming an endless body gets no answer for as long as it sends. Here
 * a declared Content-Length over the limit, or the streamed bytes crossing it, get the 413 right away with
 * `Connection: close`, and the connection is closed after a lingering read (closeAfterAnswer).
 */
export function boundedBodyParser(kind: 'json' | 'urlencoded', limit: number): RequestHandler {
  const parse =
    kind === 'json' ? bodyParser.json({ limit }) : bodyParser.urlencoded({ limit, extended: false });
  return (req: Request, res: Response, next: NextFunction) => {
    let answered = false;
    const tooLarge = () => {
      if (answered) return;
      answered = true;
      req.off('data', count);
      closeAfterAnswer(req, res);
      next(Object.assign(new Error('request entity too large'), { status: 413, type: 'entity.too.large' }));
    };
    let seen = 0;
    const count = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > limit) tooLarge();
    };
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit && isParsed(req, kind)) return tooLarge();
    parse(req, res, (err?: unknown) => {
      req.off('data', count);
      if (!answered) next(err);
    });
    // body-parser has attached its reader by now (synchronously), so counting here sees the same bytes.
    if (!answered && isParsed(req, kind) && !req.complete) req.on('data', count);
  };
}

function isParsed(req: Request, kind: 'json' | 'urlencoded'): boolean {
  return !!req.is(kind === 'json' ? 'application/json' : 'application/x-www-form-urlencoded');
}
