import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import { MnistSet } from '../../../src/modules/mnist/idx';
import { REPO_ROOT } from '../../support/app';
import { facePhoto } from '../../support/uploads-fixtures';
import { Instance, startInstance } from '../../support/instances';
import { HELD_OUT, mnistPng, styled, trainSet } from '../../support/mnist-fixtures';
import { RedisServer, startRedis } from '../../support/redis-server';

const CLIENT = path.join(REPO_ROOT, 'tests', 'support', 'message-client.ts');

interface Result {
  ok: boolean;
  response?: unknown;
  error?: { statusCode?: number; error?: string; message?: string; details?: unknown; requestId?: string };
}

/** The NestJS Redis transport (hybrid app) of the built server, from a client in another process. */
describe('message transport (REDIS_URL): chat.message, mnist.predict, faces.detect', () => {
  let redis: RedisServer;
  let dir: string;
  let a: Instance;
  let set: MnistSet;

  const env = () => ({
    REDIS_URL: redis.url,
    CHAT_INDEX_DIR: path.join(dir, 'index'),
    UPLOAD_DIR: path.join(dir, 'uploads'),
    OUTPUT_DIR: path.join(dir, 'output'),
  });

  /** Sends the requests one after the other from a separate Node process (see message-client.ts). */
  async function send(requests: { pattern: string; data: unknown }[]): Promise<Result[]> {
    const file = path.join(dir, `requests-${Date.now()}-${Math.random().toString(16).slice(2)}.json`);
    writeFileSync(file, JSON.stringify(requests));
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', CLIENT, redis.url, file],
      { cwd: REPO_ROOT, maxBuffer: 64 * 1024 * 1024, timeout: 60_000 },
    );
    return JSON.parse(stdout) as Result[];
  }

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'ko-ai-messages-'));
    redis = await startRedis();
    [a, set] = await Promise.all([startInstance(env()), trainSet()]);
  }, 60_000);

  afterAll(async () => {
    await a?.stop('SIGKILL');
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers each pattern as its HTTP route does, a bad payload with a 400 ErrorBody, and keeps serving', async () => {
    const digit = await mnistPng(set, HELD_OUT + 3);
    const paper = await styled(set, HELD_OUT + 4, 'paper');
    const photo = facePhoto('obama_and_biden.jpg');
    const bad = { message: '   ', mood: 'happy' };
    const results = await send([
      { pattern: 'chat.message', data: { message: '안녕하세요' } },
      { pattern: 'mnist.predict', data: { image: digit.toString('base64') } },
      // A batch, one image as base64 and one as bytes (a Buffer as JSON.stringify writes it).
      { pattern: 'mnist.predict', data: { images: [digit.toString('base64'), paper] } },
      { pattern: 'faces.detect', data: { image: photo.toString('base64'), minNeighbors: 3 } },
      { pattern: 'chat.message', data: bad },
      { pattern: 'faces.detect', data: { image: 'not an image', minSize: -1 } },
      { pattern: 'chat.message', data: { message: '고마워요' } },
    ]);
    const [chat, one, batch, faces, badChat, badFaces, after] = results;

    // chat.message: the reply of POST /chat.
    expect(chat.ok).toBe(true);
    const reply = chat.response as { reply: string; source: string; sessionId: string; intent: string };
    expect(reply.reply.trim()).toMatch(/감사합니다[.!]?$/);
    expect(reply).toMatchObject({ source: 'retrieval', intent: 'greeting' });
    const http = await request(a.url).post('/chat').send({ message: '안녕하세요' }).expect(200);
    expect(Object.keys(reply).sort()).toEqual(Object.keys(http.body as object).sort());

    // mnist.predict: the real digit, with the probabilities POST /mnist/predict gives for the same image.
    expect(one.ok).toBe(true);
    const prediction = one.response as { digit: number; probabilities: number[] };
    expect(prediction.digit).toBe(set.label(HELD_OUT + 3));
    const httpPrediction = await request(a.url)
      .post('/mnist/predict')
      .attach('file', digit, 'digit.png')
      .expect(200);
    expect(prediction.probabilities).toEqual(httpPrediction.body.probabilities);
    expect(batch.ok).toBe(true);
    expect((batch.response as { digit: number }[]).map((p) => p.digit)).toEqual([
      set.label(HELD_OUT + 3),
      set.label(HELD_OUT + 4),
    ]);

    // faces.detect: the boxes of POST /faces/detect.
    expect(faces.ok).toBe(true);
    const found = faces.response as { faces: unknown[]; width: number; height: number };
    const httpFaces = await request(a.url)
      .post('/faces/detect?minNeighbors=3')
      .attach('file', photo, 'photo.jpg')
      .expect(200);
    expect(found.faces).toEqual(httpFaces.body.faces);
    expect(found.faces.length).toBeGreaterThanOrEqual(2);
    expect([found.width, found.height]).toEqual([httpFaces.body.width, httpFaces.body.height]);

    // Bad payloads: the HTTP error information, in the ErrorBody shape.
    const httpBad = await request(a.url).post('/chat').send(bad).expect(400);
    expect(badChat.ok).toBe(false);
    expect(badChat.error).toMatchObject({
      statusCode: 400,
      error: 'Bad Request',
      message: httpBad.body.message,
      details: httpBad.body.details,
    });
    expect(badChat.error?.requestId).toEqual(expect.any(String));
    expect(badFaces.error).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    expect(badFaces.error?.message).toMatch(/minSize|image/);

    // ... and the instance still answers, over both transports.
    expect(after.ok).toBe(true);
    expect(a.child.exitCode).toBeNull();
    await request(a.url).get('/health/live').expect(200);
  }, 60_000);

  it('has each request answered by one replica only, however many subscribe', async () => {
    const b = await startInstance(env());
    try {
      const replies = async () => {
        let n = 0;
        for (const i of [a, b]) {
          const text = (await request(i.url).get('/metrics').expect(200)).text;
          for (const m of text.matchAll(/^chat_replies_total\{[^}]*\} (\d+)/gm)) n += Number(m[1]);
        }
        return n;
      };
      // Both replicas are subscribed to the request channel (Redis pub/sub gives each of them every request).
      expect(redis.cli('PUBSUB', 'NUMSUB', 'chat.message').split('\n')).toEqual(['chat.message', '2']);
      const before = await replies();
      const messages = ['안녕하세요', '고마워요', '잘 자요', '배고파요', '오늘 날씨 어때요', '안녕히 계세요'];
      const results = await send(messages.map((message) => ({ pattern: 'chat.message', data: { message } })));
      expect(results.every((r) => r.ok)).toBe(true);
      expect((await replies()) - before).toBe(messages.length);
    } finally {
      expect(await b.stop()).toBe(0);
    }
  }, 60_000);
});
