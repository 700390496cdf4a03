import request from 'supertest';
import { TestApp } from '../../support/app';
import { ask, connectChat, startChatApp } from '../../support/chat-fixtures';

/** A client chooses its event names: they must not become metric series (issue: unbounded labels). */
describe('socket.io metrics (real app, real client)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startChatApp({ CHAT_RATE_LIMIT_PER_MIN: '0', CHAT_RATE_LIMIT_IP_PER_MIN: '0' });
  });
  afterAll(() => t.close());

  it('labels only the events a gateway handles; made-up names count as "other"', async () => {
    const { socket } = await connectChat(t.url);
    try {
      for (let i = 0; i < 300; i++) socket.emit(`${'x'.repeat(200)}${i}`, { i });
      await ask(socket, { text: '안녕하세요' });
      const series = async () =>
        (await request(t.url).get('/metrics').expect(200)).text
          .split('\n')
          .filter((l) => l.startsWith('ws_messages_total{'));
      let lines = await series();
      for (let k = 0; k < 50 && !lines.some((l) => /event="other"\} 300/.test(l)); k++) {
        await new Promise((r) => setTimeout(r, 20));
        lines = await series();
      }
      expect(lines).toEqual(
        expect.arrayContaining([
          'ws_messages_total{namespace="/chat",event="message"} 1',
          'ws_messages_total{namespace="/chat",event="other"} 300',
        ]),
      );
      expect(lines.length).toBeLessThanOrEqual(4);
      expect(lines.join('\n')).not.toContain('xxxx');
    } finally {
      socket.disconnect();
    }
  });
});
