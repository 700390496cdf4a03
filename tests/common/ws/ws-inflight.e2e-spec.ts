import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { io, Socket } from 'socket.io-client';
import { REPO_ROOT } from '../../support/app';
import { Instance, startInstance } from '../../support/instances';

/**
 * The probe, in a process of its own, for `ms`: a socket emits 5,000 acked messages at once; when the
 * server cuts it, it connects again and floods again. Prints the acknowledgement counts at the end.
 */
const FLOOD = `
const { io } = require('socket.io-client');
const [url, ms] = [process.argv[1], Number(process.argv[2])];
const until = Date.now() + ms;
const acks = { reply: 0, refused: 0, other: 0, cuts: 0 };
const round = () => {
  if (Date.now() >= until) {
    process.stdout.write(JSON.stringify(acks) + '\\n');
    process.exit(0);
  }
  const s = io(url + '/chat', { transports: ['websocket'], reconnection: false, forceNew: true });
  s.on('connect', () => {
    for (let i = 0; i < 5000; i++)
      s.emit('chat.message', { text: '안녕 ' + i }, (a) => {
        if (a && a.reply) acks.reply++;
        else if (a && a.error && a.error.statusCode === 429) acks.refused++;
        else acks.other++;
      });
    process.stdout.write('flooding\\n');
  });
  s.on('disconnect', () => {
    acks.cuts++;
    setTimeout(round, 50);
  });
};
round();
`;

/** One socket flooding events must not stall anyone else (issue: 5,000 events stalled every client). */
describe('per-socket in-flight window (the built server, real clients)', () => {
  let server: Instance;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'ws-flood-'));
    // The per-socket and per-IP chat rate limits are off: this is what the server itself does.
    server = await startInstance({
      CHAT_RATE_LIMIT_PER_MIN: '0',
      CHAT_RATE_LIMIT_IP_PER_MIN: '0',
      CHAT_INDEX_DIR: path.join(dir, 'index'),
      UPLOAD_DIR: path.join(dir, 'uploads'),
      OUTPUT_DIR: path.join(dir, 'output'),
    });
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses beyond WS_MAX_INFLIGHT at once, cuts a flooding socket, and another client is served throughout', async () => {
    const other: Socket = io(`${server.url}/chat`, { transports: ['websocket'], forceNew: true });
    await new Promise((r) => other.once('session', r));
    const ask = () =>
      other.timeout(10_000).emitWithAck('chat.message', { text: '고마워' }) as Promise<{ source: string }>;
    try {
      expect(await ask()).toMatchObject({ source: 'retrieval' });
      const child = spawn(process.execPath, ['-e', FLOOD, server.url, '4000'], {
        env: { ...process.env, NODE_PATH: path.join(REPO_ROOT, 'node_modules') },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const lines: string[] = [];
      let flooding = false;
      child.stdout.on('data', (d: Buffer) => {
        lines.push(...d.toString().split('\n').filter(Boolean));
        flooding ||= lines.includes('flooding');
      });
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      while (!flooding) await new Promise((r) => setTimeout(r, 5));
      // Round trips of the well-behaved client for as long as the flood goes on (it floods again each time it
      // is cut), every 10 ms.
      const times: number[] = [];
      let done = false;
      void exited.then(() => (done = true));
      while (!done) {
        const t0 = performance.now();
        expect(await ask()).toMatchObject({ source: 'retrieval' });
        times.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 10));
      }
      expect((await fetch(`${server.url}/health/live`)).status).toBe(200);
      const acks = JSON.parse(lines.at(-1)!) as { refused: number; cuts: number };
      expect(acks.cuts).toBeGreaterThanOrEqual(2);
      expect(acks.refused).toBeGreaterThanOrEqual(acks.cuts);
      // Behaviour, not speed: every one of the other client's messages got its real answer while the flood went
      // on (none refused, none timed out), so it was served between the floods rather than after them. How fast
      // it was served is a benchmark's question (`bench/abuse.ts 20 flood`): on an idle 2-core machine
      // p50 is 6-7 ms, but CI shares its machine, and one CI run managed only 16 round trips in these 4 s.
      expect(times.length).toBeGreaterThanOrEqual(3);
      expect(other.connected).toBe(true);
    } finally {
      other.disconnect();
    }
  }, 60_000);
});
