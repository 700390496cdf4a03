import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import * as path from 'node:path';
import { Socket } from 'socket.io-client';
import { Instance, startInstance } from '../../support/instances';
import {
  ask,
  Followed,
  follow,
  jobImages,
  JobImage,
  jobsSocket,
  sleep,
  uploadAll,
} from '../../support/jobs-fixtures';
import { RedisServer, startRedis } from '../../support/redis-server';

interface JobBody {
  jobId: string;
  state: string;
  attempts: number;
  progress: { done: number; total: number };
  results: { id: string; output: string; faces: number }[];
  failures: { id: string; reason: string }[];
}

/**
 * Two instances of the built server (dist/main.js) share a real redis-server and one upload/output
 * folder. A mosaic job is started on one; the instance running it is killed (SIGKILL) halfway; the other
 * one takes it over after the lock expires and finishes it, and a client of the other instance sees it all.
 */
describe('jobs with Redis: BullMQ across two instances, surviving a crash', () => {
  let redis: RedisServer;
  let shared: string;
  const temp: string[] = [];
  const instances: Instance[] = [];
  const sockets: Socket[] = [];
  let images: JobImage[];

  beforeAll(async () => {
    redis = await startRedis();
    shared = mkdtempSync(path.join(tmpdir(), 'ko-ai-jobs-shared-'));
    const env = () => {
      const indexDir = mkdtempSync(path.join(tmpdir(), 'ko-ai-jobs-index-'));
      temp.push(indexDir);
      return {
        REDIS_URL: redis.url,
        UPLOAD_DIR: path.join(shared, 'uploads'),
        OUTPUT_DIR: path.join(shared, 'output'),
        CHAT_INDEX_DIR: indexDir,
        GENERATOR_MODEL: 'none',
        FACES_WORKERS: '1',
        JOBS_LOCK_DURATION_MS: '2000',
        JOBS_STALLED_INTERVAL_MS: '1000',
      };
    };
    const [a, b] = await Promise.all([
      startInstance(env()),
      startInstance(env()),
      jobImages(20, 4, 720),
    ]).then(([a, b, made]) => {
      images = made;
      return [a, b];
    });
    instances.push(a, b);
  });

  afterAll(async () => {
    for (const s of sockets) s.close();
    await Promise.all(instances.map((i) => i.stop('SIGTERM')));
    await redis?.stop();
    for (const dir of [shared, ...temp]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the job outlives the instance running it: every file accounted for once, progress seen through the other', async () => {
    const [a, b] = instances;
    const ids = await uploadAll(a.url, images);
    const idOf = new Map(images.map((img, i) => [img.name, ids[i]]));
    const socketA = await jobsSocket(a.url);
    const socketB = await jobsSocket(b.url);
    sockets.push(socketA, socketB);

    const res = await fetch(`${a.url}/jobs/mosaic`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ blocks: 12 }),
    });
    expect(res.status).toBe(202);
    const { jobId } = (await res.json()) as { jobId: string };
    const followed = new Map<Socket, Followed>([
      [socketA, follow(socketA, jobId)],
      [socketB, follow(socketB, jobId)],
    ]);
    for (const s of [socketA, socketB]) {
      const ack = await ask<JobBody>(s, 'subscribe', { jobId });
      expect(ack).toMatchObject({ jobId, progress: { total: 20 } });
    }

    // Which instance runs it: BullMQ stores the worker's name (host:pid) on the job.
    let runner = '';
    for (let i = 0; i < 200 && !runner; i++) {
      runner = redis.cli('HGET', `ko-ai:jobs:${jobId}`, 'pb');
      if (!runner) await sleep(20);
    }
    const victim = instances.find((i) => runner === `${hostname()}:${i.child.pid}`) as Instance;
    expect(victim).toBeDefined();
    const survivor = victim === a ? b : a;
    const watched = followed.get(victim === a ? socketB : socketA) as Followed;

    // Halfway-ish: killed without warning once 5 files are done.
    while ((watched.progress.at(-1)?.done ?? 0) < 5) await sleep(5);
    await victim.stop('SIGKILL');
    const killedAt = Date.now();
    const before = watched.progress.length;
    const doneAtKill = watched.progress[before - 1].done;
    expect(doneAtKill).toBeLessThan(15);

    const { event, job } = await Promise.race([
      watched.finished,
      sleep(60_000).then(() => ({ event: 'timeout', job: {} })),
    ]);
    const recoveredIn = Date.now() - killedAt;
    expect(event).toBe('completed');
    const done = job as unknown as JobBody;

    // Exactly once: processed + failed = 20, each upload once.
    expect(done).toMatchObject({ state: 'completed', progress: { done: 20, total: 20 } });
    expect(done.attempts).toBeGreaterThanOrEqual(2);
    expect(done.results.length + done.failures.length).toBe(20);
    expect([...done.results, ...done.failures].map((r) => r.id).sort()).toEqual([...ids].sort());
    for (const [i, id] of ids.entries()) {
      if (!images[i].face)
        expect(done.failures).toContainEqual(expect.objectContaining({ id, reason: 'No face was found.' }));
    }
    for (const r of done.results)
      expect(statSync(path.join(shared, 'output', `${r.id}-face.png`)).size).toBeGreaterThan(0);

    // Progress through the other instance: before and after the crash, strictly increasing, to 20.
    const seen = watched.progress.map((p) => p.done);
    expect(seen.length).toBeGreaterThan(before);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThan(seen[i - 1]);
    expect(seen.at(-1)).toBe(20);
    // Resumed, not redone: the files reported done before the crash were not written again.
    for (const p of watched.progress.slice(0, before)) {
      const r = done.results.find((x) => x.id === idOf.get(p.file));
      if (r) expect(statSync(path.join(shared, 'output', `${r.id}-face.png`)).mtimeMs).toBeLessThan(killedAt);
    }
    expect(redis.cli('HGET', `ko-ai:jobs:${jobId}`, 'pb')).toBe(`${hostname()}:${survivor.child.pid}`);
    // Taken over by BullMQ's stalled-job check.
    expect(redis.cli('HGET', `ko-ai:jobs:${jobId}`, 'stc')).toBe('1');

    // The crashed instance comes back and reads the finished job from Redis.
    await victim.restart();
    const again = await fetch(`${victim.url}/jobs/${jobId}`);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(done);
    console.log(
      `redis mosaic job: killed at ${doneAtKill}/20; the other instance resumed it after ` +
        `${(watched.progress.find((p) => p.at > killedAt)?.at ?? NaN) - killedAt} ms and finished it ${recoveredIn} ms after the kill ` +
        `(${seen.length} progress events seen through it, attempts ${done.attempts})`,
    );
  });
  it('a graceful stop (SIGTERM) hands the running job back at once, without waiting for its lock to expire', async () => {
    const [a] = instances;
    const res = await fetch(`${a.url}/jobs/mosaic`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ method: 'blur' }),
    });
    expect(res.status).toBe(202);
    const { jobId } = (await res.json()) as { jobId: string };
    let runner = '';
    for (let i = 0; i < 200 && !runner; i++) {
      runner = redis.cli('HGET', `ko-ai:jobs:${jobId}`, 'pb');
      if (!runner) await sleep(20);
    }
    const victim = instances.find((i) => runner === `${hostname()}:${i.child.pid}`) as Instance;
    const survivor = instances.find((i) => i !== victim) as Instance;
    const socket = await jobsSocket(survivor.url);
    sockets.push(socket);
    const watched = follow(socket, jobId);
    await ask(socket, 'subscribe', { jobId });
    while ((watched.progress.at(-1)?.done ?? 0) < 3) await sleep(5);

    const stopping = Date.now();
    const before = watched.progress.length;
    expect(await victim.stop('SIGTERM')).toBe(0);
    const exited = Date.now();
    const { event, job } = await Promise.race([
      watched.finished,
      sleep(60_000).then(() => ({ event: 'timeout', job: {} })),
    ]);
    expect(event).toBe('completed');
    const done = job as unknown as JobBody;
    expect(done.results.length + done.failures.length).toBe(20);
    expect(done.attempts).toBe(2);
    // Moved back to the queue by its worker, not recovered as stalled.
    expect(['', '0']).toContain(redis.cli('HGET', `ko-ai:jobs:${jobId}`, 'stc'));
    expect(redis.cli('HGET', `ko-ai:jobs:${jobId}`, 'pb')).toBe(`${hostname()}:${survivor.child.pid}`);
    const seen = watched.progress.map((p) => p.done);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThan(seen[i - 1]);
    const resumed = watched.progress.find((p) => p.at > exited);
    console.log(
      `graceful handover: SIGTERM at ${seen[before - 1]}/20, exited after ${exited - stopping} ms; ` +
        `first progress from the other instance ${resumed ? `${resumed.at - exited} ms after the exit` : 'none'}`,
    );
    await victim.restart();
  });
});
