import { TestApp } from '../support/app';
import { ask, connectChat, startChatApp } from '../support/chat-fixtures';

const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)];

/** One socket flooding events must not stall anyone else (issue: 5,000 events stalled every client). */
describe('per-socket in-flight window (real app, real clients)', () => {
  let t: TestApp;
  beforeAll(async () => {
    // The per-socket and per-IP chat rate limits are off: this is what the server itself does.
    t = await startChatApp({ CHAT_RATE_LIMIT_PER_MIN: '0', CHAT_RATE_LIMIT_IP_PER_MIN: '0' });
  });
  afterAll(() => t.close());

  it('refuses beyond WS_MAX_INFLIGHT at once, disconnects a flood, and another client stays fast', async () => {
    const { socket: flood } = await connectChat(t.url);
    const { socket: other } = await connectChat(t.url);
    try {
      await ask(other, { text: '안녕하세요' });
      const acks: Record<string, unknown>[] = [];
      const disconnected = new Promise<void>((resolve) => flood.once('disconnect', () => resolve()));
      for (let i = 0; i < 5000; i++)
        flood.emit('message', { text: `안녕 ${i}` }, (a: Record<string, unknown>) => acks.push(a));
      const times: number[] = [];
      for (let i = 0; i < 40; i++) {
        const t0 = performance.now();
        const reply = await ask(other, { text: '고마워' });
        times.push(performance.now() - t0);
        expect(reply).toMatchObject({ source: 'retrieval' });
      }
      const live = performance.now();
      const res = await fetch(`${t.url}/health/live`);
      expect(res.status).toBe(200);
      const liveMs = performance.now() - live;
      await disconnected;
      expect(acks.some((a) => (a.error as { statusCode?: number } | undefined)?.statusCode === 429)).toBe(
        true,
      );
      expect((acks.find((a) => a.error) as { error: { message: string } }).error.message).toMatch(
        /^Too many events in progress on this connection \(at most 4\)/,
      );
      expect(p99(times)).toBeLessThan(50);
      expect(liveMs).toBeLessThan(50);
      expect(other.connected).toBe(true);
    } finally {
      flood.disconnect();
      other.disconnect();
    }
  }, 30_000);
});
