import type { Response } from 'express';

/** An AbortSignal that fires when the client closes the connection before the response is complete. */
export function clientGone(res: Response): { signal: AbortSignal; done: () => void } {
  const controller = new AbortController();
  const onClose = () => {
    if (!res.writableFinished) controller.abort();
  };
  res.on('close', onClose);
  return { signal: controller.signal, done: () => res.off('close', onClose) };
}
