import { ChatTurn } from '../chat.types';

export const SESSION_STORE = Symbol('SESSION_STORE');

/**
 * Per-session chat history. Asynchronous so that a shared store (Redis) can replace the in-memory one
 * without touching callers.
 */
export interface SessionStore {
  /** The session's turns, oldest first, or undefined when it is unknown or expired. Refreshes its TTL. */
  get(id: string): Promise<ChatTurn[] | undefined>;
  /** Appends a turn (creating the session), keeping the most recent turns only. Refreshes its TTL. */
  append(id: string, turn: ChatTurn): Promise<void>;
  /** Forgets a session; false when it was not there. */
  delete(id: string): Promise<boolean>;
  /** Sessions held now. */
  size(): Promise<number>;
}

export interface SessionLimits {
  /** Turns kept per session. */
  maxTurns: number;
  /** Idle time after which a session is forgotten. */
  ttlMs: number;
  /** Sessions held; beyond, the least recently used is forgotten. */
  maxSessions: number;
}

interface Session {
  turns: ChatTurn[];
  expiresAt: number;
}

/**
 * Sessions in process memory, with a TTL and LRU eviction. A Map keeps insertion order, and every access
 * re-inserts its session, so the first entries are both the least recently used and the first to expire:
 * eviction and expiry only ever look at the front.
 */
export class InMemorySessionStore implements SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly limits: SessionLimits,
    private readonly now: () => number = Date.now,
  ) {}

  get(id: string): Promise<ChatTurn[] | undefined> {
    this.expire();
    const s = this.touch(id);
    return Promise.resolve(s ? [...s.turns] : undefined);
  }

  append(id: string, turn: ChatTurn): Promise<void> {
    this.expire();
    const s = this.touch(id) ?? { turns: [], expiresAt: 0 };
    s.turns.push(turn);
    if (s.turns.length > this.limits.maxTurns) s.turns.splice(0, s.turns.length - this.limits.maxTurns);
    s.expiresAt = this.now() + this.limits.ttlMs;
    this.sessions.set(id, s);
    while (this.sessions.size > this.limits.maxSessions) {
      const oldest = this.sessions.keys().next().value as string;
      this.sessions.delete(oldest);
    }
    return Promise.resolve();
  }

  delete(id: string): Promise<boolean> {
    this.expire();
    return Promise.resolve(this.sessions.delete(id));
  }

  size(): Promise<number> {
    this.expire();
    return Promise.resolve(this.sessions.size);
  }

  /** Moves a live session to the back (most recently used) with a fresh TTL. */
  private touch(id: string): Session | undefined {
    const s = this.sessions.get(id);
    if (!s) return undefined;
    this.sessions.delete(id);
    s.expiresAt = this.now() + this.limits.ttlMs;
    this.sessions.set(id, s);
    return s;
  }

  private expire(): void {
    const now = this.now();
    for (const [id, s] of this.sessions) {
      if (s.expiresAt > now) break;
      this.sessions.delete(id);
    }
  }
}
