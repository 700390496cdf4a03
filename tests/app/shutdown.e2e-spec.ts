import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import request from 'supertest';
import { REPO_ROOT, SHARED } from '../support/app';

const MAIN = path.join(REPO_ROOT, 'dist', 'main.js');

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** The built server (`npm run build`, as `npm start` runs it) stopped with SIGTERM. */
describe('graceful shutdown of the built server', () => {
  let dir: string;
  let child: ChildProcess;
  let url: string;

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error('dist/main.js is missing: run `npm run build` (npm test does)');
    dir = mkdtempSync(path.join(tmpdir(), 'ko-ai-shutdown-'));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, [MAIN], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'silent',
        MNIST_DIR: path.join(SHARED, 'mnist'),
        UPLOAD_DIR: path.join(dir, 'uploads'),
        OUTPUT_DIR: path.join(dir, 'output'),
        CHAT_INDEX_DIR: path.join(dir, 'index'),
      },
      stdio: 'ignore',
    });
    for (let i = 0; i < 300; i++) {
      // The face detector is optional, so /health/ready does not wait for it: ask /models.
      const ok = await request(url)
        .get('/models')
        .then((r) => (r.body.models as { status: string }[]).every((m) => m.status !== 'loading'))
        .catch(() => false);
      if (ok) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('the server did not become ready');
  }, 60_000);

  afterAll(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('finishes the request in flight, then exits with code 0', async () => {
    const photo = readFileSync(path.join(SHARED, 'faces', 'obama_and_biden.jpg'));
    const inFlight = request(url).post('/mosaic').attach('file', photo, 'photo.jpg');
    const pending = inFlight.then((r) => r);
    // Let the upload reach the server and detection start, then ask it to stop.
    await new Promise((r) => setTimeout(r, 150));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    const res = await pending;
    expect({ status: res.status, body: res.status === 200 ? null : res.body }).toEqual({
      status: 200,
      body: null,
    });
    expect(res.headers['x-face-count']).toBeDefined();
    expect(await exited).toBe(0);
  }, 30_000);
});
