import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { Socket } from 'socket.io-client';
import request from 'supertest';
import { startApp, TestApp } from '../../support/app';
import { startAppWithoutCascade } from '../../support/faces-fixtures';
import { ask, follow, jobImages, JobImage, jobsSocket, uploadAll } from '../../support/jobs-fixtures';
import { HELD_OUT, mnistPng, trainSet } from '../../support/mnist-fixtures';
import { solid } from '../../support/images';

interface JobBody {
  jobId: string;
  kind: string;
  state: string;
  progress: { done: number; total: number };
  results: { id: string; filename: string; output?: string; faces?: number; digit?: number }[];
  failures: { id: string; filename: string; reason: string }[];
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

describe('jobs, in process (real app, Haar detector, real photos)', () => {
  let t: TestApp;
  let socket: Socket;
  let images: JobImage[];
  let ids: string[];

  beforeAll(async () => {
    t = await startApp({ FACES_WORKERS: '2', MOSAIC_SYNC_MAX_FILES: '5', JOBS_MAX_FILES: '25' });
    images = await jobImages(20, 4);
    ids = await uploadAll(t.url, images);
    socket = await jobsSocket(t.url);
  });
  afterAll(async () => {
    socket?.close();
    await t?.close();
  });

  it('GET /mosaic beyond MOSAIC_SYNC_MAX_FILES points at POST /jobs/mosaic', async () => {
    const res = await request(t.url).get('/mosaic').expect(422);
    expect(res.body.message).toBe(
      'There are 20 uploaded images, more than the 5 this route processes in one request; start a background job with POST /jobs/mosaic instead.',
    );
    const docs = await request(t.url).get('/docs-json').expect(200);
    expect(docs.body.paths['/mosaic'].get.description).toContain('POST /jobs/mosaic');
    expect(Object.keys(docs.body.paths)).toEqual(
      expect.arrayContaining(['/jobs/mosaic', '/jobs/mnist', '/jobs', '/jobs/{id}']),
    );
  });

  it('POST /jobs/mosaic processes every upload; a /jobs subscriber sees increasing progress, then completed', async () => {
    const started = Date.now();
    const created = await request(t.url).post('/jobs/mosaic').send({ blocks: 8 }).expect(202);
    expect(created.body).toMatchObject({ kind: 'mosaic', state: 'queued', total: 20 });
    expect(created.body.statusUrl).toBe(`/jobs/${created.body.jobId}`);
    expect(created.headers.location).toBe(created.body.statusUrl);
    const { jobId } = created.body as { jobId: string };

    const followed = follow(socket, jobId);
    const ack = await ask<JobBody>(socket, 'subscribe', { jobId });
    expect(ack).toMatchObject({ jobId, kind: 'mosaic', progress: { total: 20 } });
    expect(['queued', 'active']).toContain(ack.state);
    const { event, job } = await followed.finished;
    const elapsed = Date.now() - started;
    expect(event).toBe('completed');
    const done = job as unknown as JobBody;

    // Progress: strictly increasing, ending at 20 of 20, each naming a file of the job.
    const seen = followed.progress.map((p) => p.done);
    expect(seen.length).toBeGreaterThan(5);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThan(seen[i - 1]);
    expect(followed.progress.at(-1)).toMatchObject({ done: 20, total: 20 });
    const names = new Set(images.map((i) => i.name));
    for (const p of followed.progress) expect(names.has(p.file)).toBe(true);

    // Every upload accounted for exactly once: processed + failed = 20.
    expect(done).toMatchObject({ state: 'completed', progress: { done: 20, total: 20 }, error: null });
    expect(done.results.length + done.failures.length).toBe(20);
    expect([...done.results, ...done.failures].map((r) => r.id).sort()).toEqual([...ids].sort());
    // The gradients have no face; every processed file was written, pixelated, as /outputs/<id>-face.png.
    const gradients = ids.filter((_, i) => !images[i].face);
    for (const id of gradients)
      expect(done.failures).toContainEqual(expect.objectContaining({ id, reason: 'No face was found.' }));
    expect(done.results.length).toBeGreaterThanOrEqual(12);
    for (const r of done.results) {
      expect(r.output).toBe(`/outputs/${r.id}-face.png`);
      expect(r.faces).toBeGreaterThan(0);
      const file = path.join(t.dataDir, 'output', `${r.id}-face.png`);
      expect(existsSync(file)).toBe(true);
      const input = images[ids.indexOf(r.id)];
      const meta = await sharp(file).metadata();
      const original = await sharp(input.data).metadata();
      expect(meta).toMatchObject({ format: 'png', width: original.width, height: original.height });
    }
    for (const f of done.failures)
      expect(existsSync(path.join(t.dataDir, 'output', `${f.id}-face.png`))).toBe(false);
    expect(Date.parse(done.finishedAt as string)).toBeGreaterThanOrEqual(Date.parse(done.createdAt));

    // The same job over HTTP; in the list, newest first.
    const got = await request(t.url).get(`/jobs/${jobId}`).expect(200);
    expect(got.body).toEqual(done);
    expect(got.body.params).toEqual({
      blocks: 8,
      method: 'pixelate',
      scaleFactor: 1.1,
      minNeighbors: 3,
      minSize: 30,
    });
    const list = await request(t.url).get('/jobs?limit=5').expect(200);
    expect(list.body).toMatchObject({ page: 1, limit: 5, total: 1, pages: 1 });
    expect(list.body.items[0]).toMatchObject({
      jobId,
      state: 'completed',
      progress: { done: 20, total: 20 },
    });
    expect(list.body.items[0].results).toBeUndefined();
    console.log(`in-process mosaic job: 20 files in ${elapsed} ms, ${done.results.length} with faces`);
  });

  it('takes a subset of uploads in `ids` (duplicates ignored), with the mosaic parameters', async () => {
    const subset = [ids[0], ids[1], ids[0], ids[19]];
    const created = await request(t.url)
      .post('/jobs/mosaic')
      .send({ ids: subset, method: 'blur', minNeighbors: 4 })
      .expect(202);
    expect(created.body.total).toBe(3);
    const job = await waitFinished(created.body.jobId);
    expect(job.state).toBe('completed');
    expect([...job.results, ...job.failures].map((r) => r.id).sort()).toEqual(
      [ids[0], ids[1], ids[19]].sort(),
    );
    expect(job.failures.map((f) => f.id)).toContain(ids[19]);
  });

  it('refuses bad requests with the JSON error shape', async () => {
    const cases: [request.Test, number, RegExp][] = [
      [request(t.url).post('/jobs/mosaic').send({ blocks: 1 }), 400, /blocks must not be less than 2/],
      [request(t.url).post('/jobs/mosaic').send({ method: 'swirl' }), 400, /method must be one of/],
      [request(t.url).post('/jobs/mosaic').send({ scaleFactor: 'fast' }), 400, /scaleFactor/],
      [
        request(t.url)
          .post('/jobs/mosaic')
          .send({ ids: ['../etc/passwd'] }),
        400,
        /ids must be an upload id/,
      ],
      [request(t.url).post('/jobs/mosaic').send({ ids: [] }), 400, /ids should not be empty/],
      [request(t.url).post('/jobs/mosaic').send({ ids: 'all' }), 400, /ids must be an array/],
      [request(t.url).post('/jobs/mosaic').send({ colour: 'red' }), 400, /property colour should not exist/],
      [
        request(t.url).post('/jobs/mosaic').set('Content-Type', 'application/json').send('{"blocks":'),
        400,
        /JSON/,
      ],
      [
        request(t.url)
          .post('/jobs/mosaic')
          .send({ ids: [randomUUID()] }),
        404,
        /^There is no upload with the id [0-9a-f-]{36}\.$/,
      ],
      [request(t.url).get('/jobs/not-a-job'), 404, /^There is no job with this id/],
      [request(t.url).get(`/jobs/${randomUUID()}`), 404, /^There is no job with this id/],
      [request(t.url).get('/jobs?limit=1000'), 400, /limit must not be greater than 100/],
    ];
    for (const [pending, status, message] of cases) {
      const res = await pending;
      expect([res.status, res.body.message]).toEqual([status, expect.stringMatching(message)]);
      expect(res.body).toMatchObject({ statusCode: status, error: expect.any(String) });
      expect(res.body.requestId).toEqual(expect.any(String));
    }
  });

  it('a job over more than JOBS_MAX_FILES uploads is refused with 422', async () => {
    const extra = await jobImages(6, 6, 200);
    const added = await uploadAll(
      t.url,
      extra.map((e, i) => ({ ...e, name: `extra-${i}.jpg` })),
    );
    try {
      const res = await request(t.url).post('/jobs/mosaic').expect(422);
      expect(res.body.message).toBe(
        'The job would take 26 images, more than the 25 one job may take; pass fewer ids.',
      );
    } finally {
      for (const id of added) await request(t.url).delete(`/uploads/${id}`).expect(204);
    }
  });

  it('socket.io: subscribing to an unknown job or with a bad payload gives an error event; the socket stays usable', async () => {
    const errors: { statusCode: number; code: string; message: string }[] = [];
    const onError = (e: (typeof errors)[number]) => errors.push(e);
    socket.on('error', onError);
    try {
      const unknown = await ask<{ error: Record<string, unknown> }>(socket, 'subscribe', {
        jobId: randomUUID(),
      });
      expect(unknown.error).toMatchObject({ statusCode: 404, code: 'not_found' });
      const bad = await ask<{ error: Record<string, unknown> }>(socket, 'subscribe', { id: 'x' });
      expect(bad.error).toMatchObject({ statusCode: 400, code: 'bad_request' });
      expect(errors.map((e) => e.statusCode)).toEqual([404, 400]);
      const list = await request(t.url).get('/jobs').expect(200);
      const known = await ask<JobBody>(socket, 'subscribe', { jobId: list.body.items[0].jobId });
      expect(known.state).toBe('completed');
      const left = await ask(socket, 'unsubscribe', { jobId: known.jobId });
      expect(left).toEqual({ jobId: known.jobId, subscribed: false });
    } finally {
      socket.off('error', onError);
    }
  });

  it('POST /jobs/mnist recognises the digit of each upload', async () => {
    const set = await trainSet();
    const digits = [HELD_OUT, HELD_OUT + 1, HELD_OUT + 2];
    const files = await Promise.all(digits.map((i) => mnistPng(set, i)));
    const blank = await solid(64, 64, [0, 0, 0]).png().toBuffer();
    const uploaded = await uploadAll(t.url, [
      ...files.map((data, i) => ({ name: `digit-${i}.png`, data, face: false })),
      { name: 'blank.png', data: blank, face: false },
    ]);
    const created = await request(t.url).post('/jobs/mnist').send({ ids: uploaded }).expect(202);
    expect(created.body).toMatchObject({ kind: 'mnist', total: 4 });
    const job = await waitFinished(created.body.jobId);
    expect(job.state).toBe('completed');
    expect(job.results.map((r) => [r.id, r.digit])).toEqual(
      uploaded.slice(0, 3).map((id, i) => [id, set.label(digits[i])]),
    );
    expect(job.failures).toEqual([
      { id: uploaded[3], filename: 'blank.png', reason: expect.stringMatching(/^The image shows no digit/) },
    ]);
  });

  async function waitFinished(jobId: string): Promise<JobBody> {
    for (let i = 0; i < 300; i++) {
      const res = await request(t.url).get(`/jobs/${jobId}`).expect(200);
      if (res.body.state === 'completed' || res.body.state === 'failed') return res.body as JobBody;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`job ${jobId} did not finish`);
  }
});

describe('jobs without the Haar cascade', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startAppWithoutCascade();
  });
  afterAll(() => t?.close());

  it('POST /jobs/mosaic answers 503 saying how to install it, rather than queueing a job bound to fail', async () => {
    const res = await request(t.url).post('/jobs/mosaic').expect(503);
    expect(res.body.message).toMatch(/haar-frontalface-alt.*not installed: install Debian's opencv-data/);
    expect((await request(t.url).get('/jobs').expect(200)).body.total).toBe(0);
  });
});
