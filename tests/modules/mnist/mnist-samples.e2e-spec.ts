import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import request from 'supertest';
import { MnistSet } from '../../../src/modules/mnist/idx';
import { startApp, TestApp } from '../../support/app';
import { trainSet } from '../../support/mnist-fixtures';

/** The PNG bytes of a response (supertest buffers image/* bodies). */
function png(res: request.Response): Buffer {
  return res.body as Buffer;
}

async function pixelsOf(
  buf: Buffer,
): Promise<{ data: Buffer; width: number; height: number; channels: number }> {
  const meta = await sharp(buf).metadata();
  const { data, info } = await sharp(buf).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: meta.channels ?? 0 };
}

describe('MNIST samples (real app, real training set)', () => {
  let t: TestApp;
  let set: MnistSet;
  let out: string;
  beforeAll(async () => {
    [t, set] = await Promise.all([startApp(), trainSet()]);
    out = path.join(t.dataDir, 'output');
  });
  afterAll(() => t.close());

  it('lists the dataset in /models, loaded once and kept in memory', async () => {
    const res = await request(t.url).get('/models').expect(200);
    const ds = res.body.models.find((m: { name: string }) => m.name === 'mnist-dataset');
    expect(ds).toMatchObject({ task: 'dataset', required: false, status: 'ready' });
    expect(ds.details).toMatchObject({ images: 60000, imageShape: [28, 28], split: 'train' });
    expect(ds.details.labelCounts).toEqual([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    expect(ds.files.map((f: { path: string }) => path.basename(f.path))).toEqual(
      expect.arrayContaining(['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz']),
    );
  });

  it('GET /mnist-sample writes training image 100 as the original service did', async () => {
    const res = await request(t.url).get('/mnist-sample').expect(200);
    const label = set.label(100);
    const name = `mnist_sample_label${label}.png`;
    expect(res.body).toEqual({ label, image_path: path.join(out, name), image_url: `/outputs/${name}` });
    const { data, width, height, channels } = await pixelsOf(readFileSync(path.join(out, name)));
    expect([width, height, channels]).toEqual([28, 28, 1]);
    expect(Buffer.compare(data, Buffer.from(set.image(100)))).toBe(0);
  });

  it('serves the written file at image_url with nosniff; DELETE (an admin route) removes it', async () => {
    const { body } = await request(t.url).post('/mnist-sample').send({ index: 7 }).expect(200);
    const res = await request(t.url).get(body.image_url).buffer(true).expect(200);
    expect(res.headers['content-type']).toBe('image/png');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(Buffer.compare(png(res), readFileSync(body.image_path))).toBe(0);
    await request(t.url).put(body.image_url).expect(404);
    // Without API keys configured admin routes are open (see the auth tests for the keyed case).
    await request(t.url).delete(body.image_url).expect(204);
    expect(existsSync(body.image_path)).toBe(false);
    await request(t.url).get(body.image_url).expect(404);
    await request(t.url).delete(body.image_url).expect(404);
    await request(t.url).delete('/outputs/..%2Fescape.png').expect(400);
  });

  it('POST /mnist-sample: defaults, noise with a reproducible seed, and the original naming', async () => {
    const plain = await request(t.url).post('/mnist-sample').send({}).expect(200);
    const bare = await request(t.url).post('/mnist-sample'); // no body at all: all defaults
    expect({ status: bare.status, body: bare.body }).toEqual({ status: 200, body: plain.body });
    expect(plain.body).toMatchObject({ label: set.label(100), has_noise: false });
    expect(path.basename(plain.body.image_path)).toBe(`mnist_sample_label${set.label(100)}.png`);

    const a = await request(t.url)
      .post('/mnist-sample')
      .send({ index: 3, filename: 'digit.png', add_noise: true, seed: 42 })
      .expect(200);
    const label = set.label(3);
    expect(a.body).toMatchObject({
      label,
      has_noise: true,
      seed: 42,
      image_url: `/outputs/digit_label${label}_noise.png`,
    });
    const first = readFileSync(a.body.image_path);
    await request(t.url)
      .post('/mnist-sample')
      .send({ index: 3, filename: 'digit.png', add_noise: true, seed: 42 })
      .expect(200);
    expect(Buffer.compare(readFileSync(a.body.image_path), first)).toBe(0); // same seed, same image
    const { data } = await pixelsOf(first);
    const orig = set.image(3);
    let changed = 0;
    let sq = 0;
    for (let i = 0; i < 784; i++) {
      if (data[i] !== orig[i]) changed++;
      if (orig[i] > 30 && orig[i] < 225) sq += (data[i] - orig[i]) ** 2;
    }
    expect(changed).toBeGreaterThan(300); // noise everywhere (except where clipped)
    const other = await request(t.url)
      .post('/mnist-sample')
      .send({ index: 3, filename: 'x.png', add_noise: true });
    expect(typeof other.body.seed).toBe('number'); // a random seed, reported so it can be reproduced
    expect(sq).toBeGreaterThan(0);
  });

  it('sanitises file names: nothing is ever written outside OUTPUT_DIR', async () => {
    const names = [
      '../../etc/x.png',
      '/tmp/abs.png',
      'a\u0000b.png',
      '..',
      '..\\..\\w.png',
      'ok/../../y.jpg',
      '.env',
    ];
    for (const filename of names) {
      const res = await request(t.url).post('/mnist-sample').send({ index: 0, filename }).expect(200);
      expect(path.dirname(res.body.image_path)).toBe(out);
      expect(res.body.image_url).toMatch(/^\/outputs\/[A-Za-z0-9_][A-Za-z0-9._-]*_label5\.png$/);
      await request(t.url).get(res.body.image_url).expect(200);
    }
    const files = readdirSync(out);
    expect(files).toEqual(
      expect.arrayContaining([
        'x_label5.png',
        'abs_label5.png',
        'ab_label5.png',
        'mnist_sample_label5.png',
        'w_label5.png',
        'y_label5.png',
        'env_label5.png',
      ]),
    );
    expect(files.every((f) => !f.startsWith('.'))).toBe(true);
    expect(readdirSync(t.dataDir).filter((f) => f !== 'uploads')).toEqual(['output']);
    expect(existsSync('/tmp/abs_label5.png')).toBe(false);
  });

  it('refuses an index out of range with the range, and bad bodies with 400', async () => {
    for (const index of [-1, 60000, 1e9]) {
      const res = await request(t.url).post('/mnist-sample').send({ index }).expect(400);
      expect(res.body.message).toBe(
        'index must be a whole number from 0 to 59999 (the training set has 60000 images).',
      );
    }
    const cases = [
      { index: 1.5 },
      { index: '7' },
      { add_noise: 'yes' },
      { filename: 5 },
      { seed: -1 },
      { other: 1 },
      { filename: 'x'.repeat(300) },
    ];
    for (const body of cases) {
      const res = await request(t.url).post('/mnist-sample').send(body);
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
      expect(res.body.error).toBe('Bad Request');
    }
  });

  it('GET /mnist/samples/:index returns the PNG with its label, enlarged crisply on request', async () => {
    const res = await request(t.url).get('/mnist/samples/100').buffer(true).expect(200);
    expect(res.headers['content-type']).toBe('image/png');
    expect(res.headers['x-label']).toBe(String(set.label(100)));
    const small = await pixelsOf(png(res));
    expect(Buffer.compare(small.data, Buffer.from(set.image(100)))).toBe(0);

    const big = await request(t.url).get('/mnist/samples/100?scale=10').buffer(true).expect(200);
    const px = await pixelsOf(png(big));
    expect([px.width, px.height, px.channels]).toEqual([280, 280, 1]);
    // Nearest neighbour: every 10×10 block is one source pixel.
    for (const [x, y] of [
      [0, 0],
      [14, 14],
      [9, 20],
      [27, 27],
    ]) {
      for (const [dx, dy] of [
        [0, 0],
        [9, 9],
        [3, 7],
      ]) {
        expect(px.data[(y * 10 + dy) * 280 + x * 10 + dx]).toBe(set.image(100)[y * 28 + x]);
      }
    }
  });

  it('adds reproducible noise on request and reports its seed', async () => {
    const a = await request(t.url).get('/mnist/samples/5?noise=true&seed=9').buffer(true).expect(200);
    const b = await request(t.url).get('/mnist/samples/5?noise=1&seed=9').buffer(true).expect(200);
    expect(a.headers['x-noise-seed']).toBe('9');
    expect(Buffer.compare(png(a), png(b))).toBe(0);
    const c = await request(t.url).get('/mnist/samples/5?noise=true').buffer(true).expect(200);
    expect(c.headers['x-noise-seed']).toMatch(/^\d+$/);
    expect(c.headers['cache-control']).toBe('no-store');
    const d = await request(t.url)
      .get(`/mnist/samples/5?noise=true&seed=${c.headers['x-noise-seed']}`)
      .buffer(true);
    expect(Buffer.compare(png(c), png(d))).toBe(0);
  });

  it('refuses bad sample requests with 400', async () => {
    const bad = [
      '/mnist/samples/60000',
      '/mnist/samples/-1',
      '/mnist/samples/abc',
      '/mnist/samples/1.5',
      '/mnist/samples/5?scale=21',
      '/mnist/samples/5?scale=0',
      '/mnist/samples/5?noise=maybe',
      '/mnist/samples/5?seed=x',
      '/mnist/samples/99999999999/meta',
    ];
    for (const url of bad) {
      const res = await request(t.url).get(url);
      expect({ url, status: res.status }).toEqual({ url, status: 400 });
      expect(res.body.error).toBe('Bad Request');
    }
    const res = await request(t.url).get('/mnist/samples/60000');
    expect(res.body.message).toMatch(/from 0 to 59999/);
  });

  it('GET /mnist/samples/:index/meta and /mnist/samples/random', async () => {
    for (const index of [0, 1, 59999]) {
      const res = await request(t.url).get(`/mnist/samples/${index}/meta`).expect(200);
      expect(res.body).toEqual({ index, label: set.label(index) });
    }
    const r = await request(t.url).get('/mnist/samples/random?count=50').expect(200);
    expect(r.body).toHaveLength(50);
    expect(new Set(r.body.map((s: { index: number }) => s.index)).size).toBe(50);
    for (const s of r.body) {
      expect(s).toEqual({ index: s.index, label: set.label(s.index), imageUrl: `/mnist/samples/${s.index}` });
    }
    const img = await request(t.url).get(r.body[0].imageUrl).expect(200);
    expect(img.headers['x-label']).toBe(String(r.body[0].label));
    expect((await request(t.url).get('/mnist/samples/random').expect(200)).body).toHaveLength(10);
    const s1 = await request(t.url).get('/mnist/samples/random?count=5&seed=3').expect(200);
    const s2 = await request(t.url).get('/mnist/samples/random?count=5&seed=3').expect(200);
    expect(s1.body).toEqual(s2.body);
    for (const q of ['count=51', 'count=0', 'count=x']) {
      await request(t.url).get(`/mnist/samples/random?${q}`).expect(400);
    }
  });

  it('/outputs/:file serves only safe plain image files inside OUTPUT_DIR', async () => {
    mkdirSync(out, { recursive: true });
    const secret = mkdtempSync(path.join(tmpdir(), 'secret-'));
    writeFileSync(
      path.join(secret, 'secret.png'),
      await sharp({ create: { width: 2, height: 2, channels: 3, background: '#000' } })
        .png()
        .toBuffer(),
    );
    symlinkSync(path.join(secret, 'secret.png'), path.join(out, 'link.png'));
    writeFileSync(path.join(out, 'notes.png'), 'not an image at all');
    writeFileSync(
      path.join(out, 'mosaic-1.jpg'),
      await sharp({ create: { width: 4, height: 4, channels: 3, background: '#f00' } })
        .jpeg()
        .toBuffer(),
    );
    mkdirSync(path.join(out, 'dir.png'));
    try {
      const jpg = await request(t.url).get('/outputs/mosaic-1.jpg').expect(200);
      expect(jpg.headers['content-type']).toBe('image/jpeg');
      expect(jpg.headers['x-content-type-options']).toBe('nosniff');
      for (const name of ['link.png', 'notes.png', 'dir.png', 'missing.png']) {
        const res = await request(t.url).get(`/outputs/${name}`);
        expect({ name, status: res.status }).toEqual({ name, status: 404 });
        expect(res.body.message).toBe(`There is no image named ${name} in the outputs.`);
      }
      for (const url of [
        '/outputs/..%2F..%2Fetc%2Fpasswd',
        '/outputs/%2Fetc%2Fpasswd',
        '/outputs/.env',
        '/outputs/a%00.png',
        '/outputs/..',
        '/outputs/%2e%2e%2fsecret.png',
        '/outputs/a%5C..%5Cb.png',
      ]) {
        const res = await request(t.url).get(url);
        expect({ url, status: res.status }).toEqual({ url, status: 400 });
      }
      const res = await request(t.url).get('/outputs/../etc/passwd');
      expect(res.status).toBe(404); // normalised by the client/router: never reaches a file
    } finally {
      rmSync(secret, { recursive: true, force: true });
    }
  });

  it('documents every MNIST route in OpenAPI', async () => {
    const { body } = await request(t.url).get('/docs-json').expect(200);
    expect(Object.keys(body.paths)).toEqual(
      expect.arrayContaining([
        '/mnist-sample',
        '/mnist/samples/random',
        '/mnist/samples/{index}',
        '/mnist/samples/{index}/meta',
        '/mnist/predict',
        '/outputs/{file}',
      ]),
    );
    expect(body.paths['/mnist-sample'].post.requestBody).toBeDefined();
  });
});

describe('MNIST samples without the dataset', () => {
  let t: TestApp;
  let empty: string;
  beforeAll(async () => {
    empty = mkdtempSync(path.join(tmpdir(), 'no-mnist-'));
    t = await startApp({ MNIST_DIR: empty });
  });
  afterAll(async () => {
    await t.close();
    rmSync(empty, { recursive: true, force: true });
  });

  it('answers 503 saying how to get the files, and /models shows it missing', async () => {
    for (const [method, url] of [
      ['get', '/mnist-sample'],
      ['post', '/mnist-sample'],
      ['get', '/mnist/samples/1'],
      ['get', '/mnist/samples/1/meta'],
      ['get', '/mnist/samples/random'],
    ] as const) {
      const res = await request(t.url)
        [method](url)
        .send(method === 'post' ? {} : undefined);
      expect({ url, status: res.status }).toEqual({ url, status: 503 });
      expect(res.body.message).toContain('npm run data:mnist');
      expect(res.body.message).toContain('MNIST_DIR');
    }
    const models = await request(t.url).get('/models').expect(200);
    const ds = models.body.models.find((m: { name: string }) => m.name === 'mnist-dataset');
    expect(ds.status).toBe('missing');
    // The dataset is optional: readiness does not wait for it.
    const ready = await request(t.url).get('/health/ready');
    expect(ready.body.message ?? '').not.toContain('mnist-dataset');
  });
});
