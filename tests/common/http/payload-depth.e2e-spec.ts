import request from 'supertest';
import { MAX_PAYLOAD_DEPTH, nestedDeeperThan } from '../../../src/common/http/validation';
import { TestApp } from '../../support/app';
import { ask, connectChat, startChatApp } from '../../support/chat-fixtures';

const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
const DEEP = `{"message":"안녕","x":${nested(5000)}}`;
const TOO_DEEP = `The body is nested too deeply (more than ${MAX_PAYLOAD_DEPTH} levels of objects or arrays).`;

describe('nestedDeeperThan', () => {
  it('measures objects and arrays iteratively, at any depth', () => {
    expect(nestedDeeperThan({ a: [1, { b: 2 }] }, 3)).toBe(false);
    expect(nestedDeeperThan({ a: [1, { b: 2 }] }, 2)).toBe(true);
    expect(nestedDeeperThan(JSON.parse(nested(200_000)), 32)).toBe(true);
    expect(nestedDeeperThan('text', 0)).toBe(false);
  });
});

/** Deeply nested JSON made class-validator overflow its stack (a 500); now it is a 400 before validation. */
describe('deeply nested payloads (real app)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startChatApp({ CHAT_RATE_LIMIT_PER_MIN: '0', CHAT_RATE_LIMIT_IP_PER_MIN: '0' });
  });
  afterAll(() => t.close());

  it.each(['/chat', '/chat/stream', '/jobs/mosaic'])(
    'POST %s: 400 saying the body is nested too deeply',
    async (route) => {
      const res = await request(t.url)
        .post(route)
        .set('content-type', 'application/json')
        .send(DEEP)
        .expect(400);
      expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request', message: TOO_DEEP });
    },
  );

  it('socket.io message: an error acknowledgement, and the socket keeps working', async () => {
    const { socket } = await connectChat(t.url);
    try {
      // 2,000 levels: the socket.io client itself cannot encode much deeper.
      const ack = await ask(socket, { text: '안녕', x: JSON.parse(nested(2000)) as unknown });
      expect(ack.error).toMatchObject({ statusCode: 400, message: TOO_DEEP });
      expect(await ask(socket, { text: '안녕하세요' })).toMatchObject({ source: 'retrieval' });
    } finally {
      socket.disconnect();
    }
  });

  it('still accepts ordinary nesting', async () => {
    await request(t.url)
      .post('/chat')
      .send({ message: '안녕하세요', generation: { seed: 1 } })
      .expect(200);
  });
});
