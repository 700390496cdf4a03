import * as http from 'node:http';
import request from 'supertest';
import { TestApp } from '../../support/app';
import { startChatApp } from '../../support/chat-fixtures';

/** Sends a body that never ends (or only says it is huge) and resolves with the answer and what it had sent. */
function endless(
  url: string,
  headers: Record<string, string>,
  stream: boolean,
): Promise<{ status: number; body: string; sent: number; ms: number }> {
  const u = new URL(`${url}/chat`);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers });
    req.on('response', (res) => {
      clearInterval(timer);
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body, sent, ms: performance.now() - started }));
      res.on('error', () =>
        resolve({ status: res.statusCode!, body, sent, ms: performance.now() - started }),
      );
    });
    req.on('error', (err) => (sent > 0 ? undefined : reject(err)));
    if (stream) {
      req.write('{"message":"');
      timer = setInterval(() => {
        const chunk = 'a'.repeat(16 * 1024);
        sent += chunk.length;
        req.write(chunk);
        if (sent > 50 * 1024 * 1024) clearInterval(timer);
      }, 2);
    } else req.flushHeaders();
  });
}

describe('request bodies over the limit (real app)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startChatApp({ BODY_LIMIT: '100kb', CHAT_RATE_LIMIT_IP_PER_MIN: '0' });
  });
  afterAll(() => t.close());

  it('answers 413 as soon as a streamed (chunked) JSON body crosses the limit, and closes the connection', async () => {
    const r = await endless(
      t.url,
      { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      true,
    );
    expect(r.status).toBe(413);
    expect(JSON.parse(r.body)).toMatchObject({ statusCode: 413, message: 'Request body is too large.' });
    expect(r.sent).toBeLessThan(5 * 1024 * 1024);
    expect(r.ms).toBeLessThan(3000);
  });

  it('answers 413 at once to a declared Content-Length over the limit, without waiting for the body', async () => {
    const r = await endless(
      t.url,
      { 'content-type': 'application/json', 'content-length': '1000000000' },
      false,
    );
    expect(r.status).toBe(413);
    expect(r.ms).toBeLessThan(1000);
  });

  it('still parses bodies within the limit', async () => {
    await request(t.url).post('/chat').send({ message: '안녕하세요' }).expect(200);
    const res = await request(t.url)
      .post('/chat')
      .send({ message: '가'.repeat(200), x: 'b'.repeat(200_000) });
    expect(res.status).toBe(413);
  });
});
