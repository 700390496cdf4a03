import type { Request, Response } from 'express';
import type { Socket } from 'node:net';

/** How long, and how much, a refused body is still read after the answer (nginx's lingering_close). */
export const LINGER_MS = 2000;
export const LINGER_BYTES = 16 * 1024 * 1024;

/**
 * Answer now, close soon: for a body refused before it was all received. The response goes out with
 * `Connection: close`; afterwards the socket keeps reading (and discarding) what the client is still sending,
 * for up to LINGER_MS or LINGER_BYTES, and only then closes. Closing at once would make the kernel answer the
 * client's next bytes with a reset, and most clients then report "connection reset" instead of the 413 that
 * was already on its way.
 */
export function closeAfterAnswer(req: Request, res: Response): void {
  if (req.complete || req.destroyed) return;
  res.setHeader('Connection', 'close');
  const socket = req.socket as Socket & { destroySoon?: () => void };
  req.resume();
  // Node ends a `Connection: close` response with socket.destroySoon(): FIN, then close, which resets on the
  // client's next segment. Half-close instead, and close once the client stops or the budget runs out.
  socket.destroySoon = () => {
    let seen = 0;
    const close = () => {
      clearTimeout(timer);
      socket.destroy();
    };
    const timer = setTimeout(close, LINGER_MS);
    timer.unref();
    socket.on('data', (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > LINGER_BYTES) close();
    });
    socket.once('end', close);
    socket.end();
  };
}
