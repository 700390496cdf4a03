import { readdirSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import request from 'supertest';
import { TestApp } from '../../support/app';
import { solid } from '../../support/images';
import { startChatApp } from '../../support/chat-fixtures';

const PART = Buffer.alloc(Math.round(9.5 * 1024 * 1024), 0x41);

/** Opens an /upload request that declares a 10 MB body, sends 9.5 MB of its file part and never finishes. */
function holdOpen(port: number): Promise<{ socket: net.Socket; status: () => number | null }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const boundary = 'xBoundaryx';
    const head =
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n` +
      'Content-Type: image/png\r\n\r\n';
    let status: number | null = null;
    socket.on('data', (d: Buffer) => {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(d.toString('latin1'));
      if (m) status = Number(m[1]);
    });
    socket.on('error', () => undefined);
    socket.on('connect', () => {
      socket.write(
        `POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\n` +
          `Content-Length: ${10 * 1024 * 1024}\r\n\r\n${head}`,
      );
      const done = () => resolve({ socket, status: () => status });
      socket.write(PART, done);
      setTimeout(done, 3000);
    });
  });
}

describe('held-open uploads (real app, real sockets)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startChatApp({ UPLOADS_INFLIGHT_MAX_BYTES: '64mb' });
  });
  afterAll(() => t.close());

  it('100 unfinished 10 MB uploads: all but the budget get 503 at once, memory stays bounded, nothing is left behind', async () => {
    const port = Number(new URL(t.url).port);
    const before = process.memoryUsage().rss;
    const held = await Promise.all(Array.from({ length: 100 }, () => holdOpen(port)));
    await new Promise((r) => setTimeout(r, 500));
    const peak = process.memoryUsage().rss - before;
    const refused = held.filter((h) => h.status() === 503).length;
    // 64 MB / 10 MB declared: six are admitted and held, the others were refused.
    expect(refused).toBeGreaterThanOrEqual(90);
    expect(held.filter((h) => h.status() === null).length).toBeLessThanOrEqual(7);
    expect(peak).toBeLessThan(400 * 1024 * 1024);
    for (const h of held) h.socket.destroy();
    await new Promise((r) => setTimeout(r, 300));
    const uploads = path.join(t.dataDir, 'uploads');
    expect(readdirSync(uploads).filter((f) => !f.startsWith('.') || f.startsWith('.tmp'))).toEqual([]);
    // The budget is free again.
    const png = await solid(8, 8, [1, 2, 3]).png().toBuffer();
    await request(t.url).post('/upload').attach('file', png, 'ok.png').expect(200);
  }, 60_000);
});
