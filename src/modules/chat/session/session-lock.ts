import { HttpException, HttpStatus, Logger, ServiceUnavailableException } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

export const SESSION_LOCK = Symbol('SESSION_LOCK');

/**
 * One message of a conversation at a time: the history a reply reads and the turn it appends form one
 * read-modify-write, so a second message of the same session (another tab, another instance) waits for the
 * first and sees its question and answer.
 */
export interface SessionLock {
  /**
   * Runs `fn` holding the lock of `key`, after the holders before it. Waits at most the configured bound
   * (then 429); `signal` (the client went away) stops the wait. The lock is released however `fn` ends.
   */
  run<T>(key: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T>;
}

export interface SessionLockOptions {
  /** Longest wait for the lock before answering 429. */
  waitMs: number;
}

/** The answer when a conversation stays busy for longer than the wait bound. */
export function sessionBusy(waitMs: number): HttpException {
  return new HttpException(
    {
      message: `Another message of this conversation was still being answered after ${Math.round(waitMs / 1000)} s; try again shortly.`,
      details: { retryAfterS: 1 },
    },
    HttpStatus.TOO_MANY_REQUESTS,
  );
}

/** Resolves when `p` does, rejects with 429 after `waitMs` or with the abort reason when `signal` fires. */
function bounded(p: Promise<unknown>, waitMs: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done = (err?: unknown) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (err === undefined) resolve();
      else reject(err);
    };
    const onAbort = () => done(signal?.reason ?? new Error('aborted'));
    const timer = setTimeout(() => done(sessionBusy(waitMs)), waitMs);
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    p.then(
      () => done(),
      () => done(),
    );
  });
}

/**
 * Per-key FIFO mutex in this process (the default, one instance). Each caller chains on the one before it,
 * so messages of a session are answered in arrival order; a caller that gives up waiting still passes the
 * turn on only after its predecessor, so mutual exclusion holds.
 */
export class InMemorySessionLock implements SessionLock {
  private readonly tails = new Map<string, Promise<void>>();

  constructor(private readonly opts: SessionLockOptions) {}

  async run<T>(key: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const before = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = before.then(() => mine);
    this.tails.set(key, tail);
    try {
      await bounded(before, this.opts.waitMs, signal);
      return await fn();
    } finally {
      release();
      // Forget the key once everything up to us is done (not before: a waiter that gave up may still
      // have a holder in front of it), unless somebody queued behind us meanwhile.
      void tail.then(() => {
        if (this.tails.get(key) === tail) this.tails.delete(key);
      });
    }
  }

  /** Keys with a holder or waiters (for tests). */
  get busyKeys(): number {
    return this.tails.size;
  }
}

export interface RedisSessionLockOptions extends SessionLockOptions {
  /** Prefix of the lock keys, e.g. `ko-ai:chat:lock:`. */
  keyPrefix: string;
  /** Expiry of a lock whose holder stops renewing it (crashed); renewed every third of it while held. */
  ttlMs?: number;
  /** Pause between attempts while another holder has the lock (with a little jitter). */
  pollMs?: number;
}

// Release and renewal only touch the lock while it still carries our token: a holder that stalled past
// the expiry must not delete or extend the lock somebody else took since.
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

/**
 * The lock in Redis, for several instances: `SET key token NX PX ttl` to take it, renewed every ttl/3 while
 * held (so a long generation keeps it, and a crashed holder's lock expires after ttl), released with a
 * compare-and-delete script. Waiters poll every `pollMs`: contention on one conversation is rare (one person,
 * two tabs) and short, so polling costs a few commands and needs no subscriber connection.
 *
 * Why not the `redlock` package: its 4.x line is typed for ioredis 4, its 5.x (ioredis 5) has been a beta
 * since 2022, it is not a dependency of this project; and its multi-master quorum buys nothing with one
 * Redis. This is the single-instance pattern from the Redis documentation (SET NX PX + token + scripted
 * release). Order between waiters of different instances is not FIFO, only exclusive.
 */
export class RedisSessionLock implements SessionLock {
  private readonly logger = new Logger('SessionLock');
  private readonly ttlMs: number;
  private readonly pollMs: number;

  constructor(
    private readonly redis: Redis,
    private readonly opts: RedisSessionLockOptions,
  ) {
    this.ttlMs = opts.ttlMs ?? 10_000;
    this.pollMs = opts.pollMs ?? 25;
  }

  async run<T>(key: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const lockKey = this.opts.keyPrefix + key;
    const token = randomBytes(16).toString('hex');
    await this.acquire(lockKey, token, signal);
    const renewal = setInterval(
      () => {
        this.redis.eval(RENEW, 1, lockKey, token, String(this.ttlMs)).then(
          (kept) => {
            if (kept === 1) return;
            this.logger.warn(`lost the lock of ${key} while holding it (it expired); no longer renewing it`);
            clearInterval(renewal);
          },
          (err: Error) => this.logger.warn(`could not renew the lock of ${key}: ${err.message}`),
        );
      },
      Math.max(10, Math.floor(this.ttlMs / 3)),
    );
    try {
      return await fn();
    } finally {
      clearInterval(renewal);
      // A failed release only delays the next holder until the lock expires.
      await this.redis
        .eval(RELEASE, 1, lockKey, token)
        .catch((err: Error) => this.logger.warn(`could not release the lock of ${key}: ${err.message}`));
    }
  }

  private async acquire(lockKey: string, token: string, signal?: AbortSignal): Promise<void> {
    const deadline = Date.now() + this.opts.waitMs;
    for (;;) {
      if (signal?.aborted) throw signal.reason ?? new Error('aborted');
      let taken: string | null;
      try {
        taken = await this.redis.set(lockKey, token, 'PX', this.ttlMs, 'NX');
      } catch (err) {
        throw new ServiceUnavailableException(
          `Chat sessions are unavailable: Redis did not answer (${(err as Error).message}).`,
        );
      }
      if (taken === 'OK') return;
      if (Date.now() >= deadline) throw sessionBusy(this.opts.waitMs);
      const pause = Math.min(this.pollMs * (0.5 + Math.random()), Math.max(1, deadline - Date.now()));
      await new Promise((r) => setTimeout(r, pause));
    }
  }
}
