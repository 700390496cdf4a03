import * as http from 'node:http';
import * as path from 'node:path';
import { startApp, TestApp } from '../../../support/app';
import { listFiles } from '../../../support/uploads-fixtures';

interface Outcome {
  status?: number;
  body?: { statusCode: number; message: string };
  /** ms from crossing the limit (or from the start, for a declared length) to the status line */
  answeredAfterMs?: number;
  connection?: string;
  sentBytes: number;
  error?: string;
}

/**
 * Streams a body without end (chunked, 64 KB every 5 ms, until the answer comes) to `route`, with Node's HTTP
 * client, and records the answer and how soon after crossing `limit` it came. `head`: the body's opening (the multipart part header).
 */
function streamForever(
  url: string,
  route: string,
  contentType: string,
  head: string,
  limit: number,
): Promise<Outcome> {
  return new Promise((resolve) => {
    const out: Outcome = { sentBytes: 0 };
    let crossedAt = 0;
    let answeredAt = 0;
    const req = http.request(`${url}${route}`, {
      method: 'POST',
      headers: { 'content-type': contentType, 'transfer-encoding': 'chunked' },
    });
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const timer = setInterval(() => {
      if (req.destroyed || answeredAt) return;
      req.write(chunk);
      out.sentBytes += chunk.length;
      if (!crossedAt && out.sentBytes >= limit) crossedAt = performance.now();
    }, 5);
    const done = () => {
      clearInterval(timer);
      resolve(out);
    };
    req.on('response', (res) => {
      answeredAt = performance.now();
      out.status = res.statusCode;
      out.answeredAfterMs = crossedAt ? answeredAt - crossedAt : undefined;
      out.connection = res.headers.connection;
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => (out.body = JSON.parse(text) as Outcome['body']));
      res.socket.once('close', done);
    });
    req.on('error', (err) => {
      out.error = err.message;
      if (!out.status) done();
    });
    req.write(head);
    setTimeout(() => {
      out.error ??= 'no answer within 15 s';
      req.destroy();
      done();
    }, 15_000);
  });
}

const BOUNDARY = 'xStreamBoundaryx';
const PART_HEAD =
  `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="endless.png"\r\n` +
  'Content-Type: image/png\r\n\r\n';

describe('bodies over the limit are answered at once, however long they go on (real app, real sockets)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ UPLOAD_MAX_BYTES: '1mb' }, { waitForModels: false });
  });
  afterAll(() => t.close());

  it.each(['/upload', '/mosaic', '/mnist/predict'])(
    'an endless multipart file to %s: 413 as soon as it passes UPLOAD_MAX_BYTES, then the connection closes',
    async (route) => {
      const out = await streamForever(
        t.url,
        route,
        `multipart/form-data; boundary=${BOUNDARY}`,
        PART_HEAD,
        1024 * 1024,
      );
      expect(out.error).toBeUndefined();
      expect(out.status).toBe(413);
      expect(out.body?.message).toMatch(/1 MB/);
      // Answered within a few chunks of the limit, not after the client stopped (it never does here).
      expect(out.answeredAfterMs).toBeLessThan(1000);
      expect(out.sentBytes).toBeLessThan(8 * 1024 * 1024);
      // ...and says it closes the connection; this client read the answer, not a reset (closeAfterAnswer).
      expect(out.connection).toBe('close');
      expect(listFiles(path.join(t.dataDir, 'uploads'))).toEqual([]);
    },
    30_000,
  );

  it('an endless JSON body: 413 as soon as it passes BODY_LIMIT, then the connection closes', async () => {
    const out = await streamForever(t.url, '/chat', 'application/json', '{"message":"', 100 * 1024);
    expect(out.error).toBeUndefined();
    expect(out.status).toBe(413);
    expect(out.answeredAfterMs).toBeLessThan(1000);
    expect(out.connection).toBe('close');
  }, 30_000);

  it('a declared Content-Length far over the limit, with no body sent: 413 at once', async () => {
    for (const [route, type] of [
      ['/upload', `multipart/form-data; boundary=${BOUNDARY}`],
      ['/chat', 'application/json'],
    ]) {
      const t0 = performance.now();
      const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
        const req = http.request(`${t.url}${route}`, {
          method: 'POST',
          headers: { 'content-type': type, 'content-length': '1000000000' },
        });
        req.on('response', resolve);
        req.on('error', reject);
        req.flushHeaders();
      });
      expect({ route, status: res.statusCode }).toEqual({ route, status: 413 });
      expect(performance.now() - t0).toBeLessThan(1000);
      res.destroy();
    }
  }, 30_000);
});
