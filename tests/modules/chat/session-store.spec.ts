import { ChatTurn } from '../../../src/modules/chat/chat.types';
import { vary } from '../../../src/modules/chat/chat.service';
import { InMemorySessionStore } from '../../../src/modules/chat/session/session-store';

const turn = (n: number): ChatTurn => ({
  user: `q${n}`,
  bot: `a${n}`,
  source: 'retrieval',
  intent: 'x',
  at: '',
});

describe('in-memory session store', () => {
  let now = 0;
  const clock = () => now;
  beforeEach(() => (now = 1_000_000));

  it('keeps the last maxTurns turns, oldest first', async () => {
    const store = new InMemorySessionStore({ maxTurns: 3, ttlMs: 60_000, maxSessions: 10 }, clock);
    for (let i = 1; i <= 5; i++) await store.append('s', turn(i));
    expect((await store.get('s'))!.map((t) => t.user)).toEqual(['q3', 'q4', 'q5']);
    expect(await store.get('unknown')).toBeUndefined();
  });

  it('forgets a session idle for its TTL; any use refreshes it', async () => {
    const store = new InMemorySessionStore({ maxTurns: 3, ttlMs: 1000, maxSessions: 10 }, clock);
    await store.append('a', turn(1));
    await store.append('b', turn(1));
    now += 800;
    expect(await store.get('a')).toHaveLength(1); // refreshes a
    now += 800;
    expect(await store.get('b')).toBeUndefined(); // b idle 1600 ms
    expect(await store.get('a')).toHaveLength(1); // a idle 800 ms
    now += 1001;
    expect(await store.size()).toBe(0);
  });

  it('evicts the least recently used session beyond maxSessions', async () => {
    const store = new InMemorySessionStore({ maxTurns: 3, ttlMs: 60_000, maxSessions: 2 }, clock);
    await store.append('a', turn(1));
    await store.append('b', turn(1));
    await store.get('a'); // a is now more recent than b
    await store.append('c', turn(1));
    expect(await store.get('b')).toBeUndefined();
    expect(await store.get('a')).toBeDefined();
    expect(await store.get('c')).toBeDefined();
    expect(await store.size()).toBe(2);
  });

  it('deletes, saying whether the session was there', async () => {
    const store = new InMemorySessionStore({ maxTurns: 3, ttlMs: 60_000, maxSessions: 2 }, clock);
    await store.append('a', turn(1));
    expect(await store.delete('a')).toBe(true);
    expect(await store.delete('a')).toBe(false);
  });

  it('hands out copies, so callers cannot change the history', async () => {
    const store = new InMemorySessionStore({ maxTurns: 3, ttlMs: 60_000, maxSessions: 2 }, clock);
    await store.append('a', turn(1));
    (await store.get('a'))!.push(turn(2));
    expect(await store.get('a')).toHaveLength(1);
  });
});

describe('answer variation', () => {
  const history = (...bots: string[]) => bots.map((bot) => ({ ...turn(0), bot }));

  it('never repeats the previous answer when another exists', () => {
    for (let i = 0; i < 200; i++) expect(vary(['a', 'b'], history('a'))).toBe('b');
  });

  it('avoids the recent answers when the pool allows, and spreads over the rest', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const a = vary(['a', 'b', 'c', 'd', 'e'], history('a', 'b', 'c'));
      expect(['d', 'e']).toContain(a);
      seen.add(a);
    }
    expect(seen.size).toBe(2);
    // All recent: only the very last one is excluded.
    for (let i = 0; i < 100; i++) expect(vary(['a', 'b'], history('b', 'a'))).toBe('b');
  });

  it('repeats a single answer when it is the only one', () => {
    expect(vary(['only'], history('only'))).toBe('only');
  });
});
