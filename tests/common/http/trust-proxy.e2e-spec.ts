import { io, Socket } from 'socket.io-client';
import request from 'supertest';
import { TestApp } from '../../support/app';
import { ask, startChatApp } from '../../support/chat-fixtures';

/** The per-IP chat budget behind a proxy: X-Forwarded-For counts only from proxies named in TRUST_PROXY. */
describe('TRUST_PROXY and the per-client rate limit', () => {
  const statuses = (t: TestApp, forwardedFor: string, n: number) =>
    Promise.all(
      Array.from({ length: n }, () =>
        request(t.url).post('/chat').set('X-Forwarded-For', forwardedFor).send({ message: '안녕하세요' }),
      ),
    ).then((rs) => rs.map((r) => r.status).sort());

  it('with TRUST_PROXY=loopback, clients behind the proxy have budgets of their own (HTTP and socket.io)', async () => {
    const t = await startChatApp({ TRUST_PROXY: 'loopback', CHAT_RATE_LIMIT_IP_PER_MIN: '2' });
    const sockets: Socket[] = [];
    try {
      expect(await statuses(t, '198.51.100.1', 3)).toEqual([200, 200, 429]);
      expect(await statuses(t, '198.51.100.2', 2)).toEqual([200, 200]);
      // socket.io: the handshake's X-Forwarded-For names the client, as it does behind nginx.
      const connect = (ip: string) => {
        const s = io(`${t.url}/chat`, {
          transports: ['websocket'],
          extraHeaders: { 'X-Forwarded-For': ip },
          reconnection: false,
          forceNew: true,
        });
        sockets.push(s);
        return s;
      };
      const a = connect('198.51.100.1'); // its HTTP budget is already spent
      const b = connect('198.51.100.3');
      expect(await ask(a, { text: '안녕하세요' })).toHaveProperty('error');
      expect(await ask(b, { text: '안녕하세요' })).toHaveProperty('reply');
    } finally {
      sockets.forEach((s) => s.close());
      await t.close();
    }
  });

  it('without it, X-Forwarded-For is ignored: a client cannot escape its limit by making one up', async () => {
    const t = await startChatApp({ CHAT_RATE_LIMIT_IP_PER_MIN: '2' });
    try {
      expect(await statuses(t, '198.51.100.1', 2)).toEqual([200, 200]);
      expect(await statuses(t, '198.51.100.9', 1)).toEqual([429]);
    } finally {
      await t.close();
    }
  });

  it('refuses a TRUST_PROXY that is not an address, subnet or range name, naming the variable', async () => {
    await expect(startChatApp({ TRUST_PROXY: 'everyone' })).rejects.toThrow(/TRUST_PROXY/);
  });
});
