import { Redis } from 'ioredis';
import {
  InMemorySessionLock,
  RedisSessionLock,
  SessionLock,
} from '../../../../src/modules/chat/session/session-lock';
import { RedisServer, startRedis } from '../../../support/redis-server';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs `count` critical sections on `key` at once through the given locks (round robin), each reading a
 * shared value, pausing, and writing it back plus one: without mutual exclusion updates are lost.
 */
async function contend(locks: SessionLock[], key: string, count: number) {
  let value = 0;
  let inside = 0;
  let maxInside = 0;
  const order: number[] = [];
  await Promise.all(
    Array.from({ length: count }, (_, i) =>
      locks[i % locks.length].run(key, async () => {
        inside++;
        maxInside = Math.max(maxInside, inside);
        const read = value;
        await sleep(15);
        value = read + 1;
        order.push(i);
        inside--;
      }),
    ),
  );
  return { value, maxInside, order };
}

describe('in-memory session lock', () => {
  it('runs the holders of one key one at a time, in arrival order', async () => {
    const lock = new InMemorySessionLock({ waitMs: 5000 });
    const { value, maxInside, order } = await contend([lock], 's', 6);
    expect(value).toBe(6);
    expect(maxInside).toBe(1);
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
    expect(lock.busyKeys).toBe(0);
  });

  it('does not hold back other keys', async () => {
    const lock = new InMemorySessionLock({ waitMs: 5000 });
    let release!: () => void;
    const held = lock.run('a', () => new Promise<void>((r) => (release = r)));
    await expect(lock.run('b', async () => 'b ran')).resolves.toBe('b ran');
    release();
    await held;
  });

  it('is released when the holder throws, and passes the error on', async () => {
    const lock = new InMemorySessionLock({ waitMs: 5000 });
    await expect(
      lock.run('s', async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    await expect(lock.run('s', async () => 'next')).resolves.toBe('next');
    expect(lock.busyKeys).toBe(0);
  });

  it('answers 429 after the wait bound, and a waiter that gave up does not break exclusion', async () => {
    const lock = new InMemorySessionLock({ waitMs: 100 });
    let release!: () => void;
    let inside = 0;
    const held = lock.run('s', async () => {
      inside++;
      await new Promise<void>((r) => (release = r));
      inside--;
    });
    await expect(lock.run('s', async () => 'never')).rejects.toMatchObject({
      status: 429,
      message: expect.stringMatching(/^Another message of this conversation was still being answered/),
    });
    // A third caller queued behind the one that gave up still waits for the holder.
    let thirdSawInside = -1;
    const third = lock.run('s', async () => {
      thirdSawInside = inside;
    });
    await sleep(20);
    expect(thirdSawInside).toBe(-1);
    release();
    await held;
    await third;
    expect(thirdSawInside).toBe(0);
  });

  it('stops waiting when the client goes away', async () => {
    const lock = new InMemorySessionLock({ waitMs: 5000 });
    let release!: () => void;
    const held = lock.run('s', () => new Promise<void>((r) => (release = r)));
    const controller = new AbortController();
    const waiting = lock.run('s', async () => 'never', controller.signal);
    controller.abort(new Error('client gone'));
    await expect(waiting).rejects.toThrow('client gone');
    release();
    await held;
  });
});

describe('Redis session lock (real redis-server, separate connections)', () => {
  let redis: RedisServer;
  const connections: Redis[] = [];
  const connect = () => {
    const c = new Redis(redis.url);
    connections.push(c);
    return c;
  };
  const lock = (c: Redis, opts: { waitMs?: number; ttlMs?: number } = {}) =>
    new RedisSessionLock(c, { keyPrefix: 'test:lock:', waitMs: 5000, pollMs: 10, ...opts });

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())));
    await redis.stop();
  });

  it('excludes holders on two connections (two instances) from each other', async () => {
    const one = lock(connect());
    const two = lock(connect());
    const { value, maxInside } = await contend([one, two], 'shared', 8);
    expect(value).toBe(8);
    expect(maxInside).toBe(1);
    expect(redis.cli('EXISTS', 'test:lock:shared')).toBe('0');
  });

  it('lets a waiter in as soon as the holder is done, in order of their turns', async () => {
    const one = lock(connect());
    const two = lock(connect());
    const events: string[] = [];
    let release!: () => void;
    const first = one.run('order', async () => {
      events.push('first in');
      await new Promise<void>((r) => (release = r));
      events.push('first out');
    });
    // The second asks only once the first holds the lock (a fixed pause lost the race on a busy machine).
    while (!events.includes('first in')) await sleep(5);
    const second = two.run('order', async () => {
      events.push('second in');
    });
    await sleep(60);
    expect(events).toEqual(['first in']);
    release();
    await Promise.all([first, second]);
    expect(events).toEqual(['first in', 'first out', 'second in']);
  });

  it('is released when the holder throws', async () => {
    const one = lock(connect());
    const two = lock(connect(), { waitMs: 500 });
    await expect(
      one.run('err', async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(redis.cli('EXISTS', 'test:lock:err')).toBe('0');
    await expect(two.run('err', async () => 'next')).resolves.toBe('next');
  });

  it("keeps a long holder's lock alive by renewing it", async () => {
    // A TTL with room for a busy machine: renewals come every 200 ms, so the lock survives a 400 ms stall.
    const one = lock(connect(), { ttlMs: 600 });
    const two = lock(connect(), { waitMs: 1500 });
    let release: (() => void) | undefined;
    const held = one.run('long', () => new Promise<void>((r) => (release = r)));
    while (!release) await sleep(5); // the first holds the lock
    // Waiting 2.5 TTLs: only renewal keeps the lock.
    await expect(two.run('long', async () => 'stole it')).rejects.toMatchObject({ status: 429 });
    release();
    await held;
    await expect(two.run('long', async () => 'after')).resolves.toBe('after');
  });

  it('expires the lock of a holder that died, and its late release does not free the next holder', async () => {
    const doomed = connect();
    const one = lock(doomed, { ttlMs: 300 });
    const two = lock(connect(), { ttlMs: 5000 });
    let finishDead: (() => void) | undefined;
    const dead = one.run('crash', () => new Promise<void>((r) => (finishDead = r)));
    while (!finishDead) await sleep(5); // the doomed holder has the lock
    expect(redis.cli('EXISTS', 'test:lock:crash')).toBe('1');
    doomed.disconnect(); // the holder's process is gone: no more renewal, no release
    const diedAt = Date.now();
    // What is left of its lock now (its last renewal may have run late on a loaded machine): it expires no sooner.
    const left = Math.max(0, Number(redis.cli('PTTL', 'test:lock:crash'))); // -2: already gone
    let acquiredAt = 0;
    let release!: () => void;
    const next = two.run('crash', async () => {
      acquiredAt = Date.now();
      await new Promise<void>((r) => (release = r));
    });
    for (let i = 0; i < 100 && acquiredAt === 0; i++) await sleep(20);
    // Taken once the dead holder's lock expired, not before (a few ms of slack for the clock's rounding).
    expect(acquiredAt - diedAt).toBeGreaterThanOrEqual(left - 5);
    expect(acquiredAt - diedAt).toBeLessThan(1000);
    expect(Number(redis.cli('PTTL', 'test:lock:crash'))).toBeGreaterThan(300); // the second holder's TTL
    finishDead();
    await dead; // its release fails quietly (connection closed) and would not match the token anyway
    expect(redis.cli('EXISTS', 'test:lock:crash')).toBe('1');
    release();
    await next;
    expect(redis.cli('EXISTS', 'test:lock:crash')).toBe('0');
  });

  it('stops waiting with 429 after the wait bound', async () => {
    const one = lock(connect());
    const two = lock(connect(), { waitMs: 150 });
    let release: (() => void) | undefined;
    const held = one.run('busy', () => new Promise<void>((r) => (release = r)));
    while (!release) await sleep(5); // the first holds the lock
    const started = Date.now();
    await expect(two.run('busy', async () => 'never')).rejects.toMatchObject({ status: 429 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    release();
    await held;
  });
});
