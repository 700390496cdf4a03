import type { Socket } from 'socket.io';

/** How much one socket.io connection has asked of the server (kept in `socket.data.load`). */
export interface SocketLoad {
  /** Events of this socket being handled now (counted by WsInflightInterceptor). */
  inflight: number;
  /**
   * Events admitted in the current turn of the event loop whose handler has not started yet: a burst of
   * packets is admitted before any handler runs, so they count until the next turn.
   */
  pending: number;
  refused: number;
  windowStart: number;
  /** Set once the socket is being disconnected for flooding: its further events are dropped unanswered. */
  closing: boolean;
}

export interface SocketLimits {
  maxInflight: number;
  floodDisconnect: number;
}

const FLOOD_WINDOW_MS = 10_000;

export function loadOf(socket: Socket): SocketLoad {
  const data = socket.data as { load?: SocketLoad };
  return (data.load ??= { inflight: 0, pending: 0, refused: 0, windowStart: Date.now(), closing: false });
}

/**
 * Admission of one incoming event, before any parsing of its payload by a gateway: 'accept'; 'refuse' when
 * the socket already has `maxInflight` events in progress (the caller answers 429 at once); 'drop' when the
 * socket was refused `floodDisconnect` times within 10 s, which also disconnects it (after the refusals
 * already queued have been written).
 */
export function admit(socket: Socket, limits: SocketLimits): 'accept' | 'refuse' | 'drop' {
  const load = loadOf(socket);
  if (load.closing) return 'drop';
  if (load.inflight + load.pending < limits.maxInflight) {
    load.pending++;
    setImmediate(() => load.pending--);
    return 'accept';
  }
  const now = Date.now();
  if (now - load.windowStart > FLOOD_WINDOW_MS) {
    load.windowStart = now;
    load.refused = 0;
  }
  if (++load.refused < limits.floodDisconnect) return 'refuse';
  load.closing = true;
  socket.emit('error', {
    statusCode: 429,
    error: 'Too Many Requests',
    message:
      'This connection sent too many events at once and is closed; reconnect and wait for the answers.',
    code: 'too_many_requests',
  });
  // At once: what was already sent to it is flushed by the closing handshake, and the rest of its burst is
  // no longer decoded.
  socket.disconnect(true);
  return 'drop';
}

export function refusal(maxInflight: number) {
  return {
    statusCode: 429,
    error: 'Too Many Requests',
    message: `Too many events in progress on this connection (at most ${maxInflight}); wait for the answers.`,
    code: 'too_many_requests',
  };
}
