import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { io, Socket } from 'socket.io-client';
import request from 'supertest';
import { FaceBox } from '../../../src/modules/faces/face-detector';
import { startApp, TestApp } from '../../support/app';
import { changedOutside, decodeRaw, iou, nonConstantCells, toTuple } from '../../support/faces-fixtures';
import { pngBomb, solid } from '../../support/images';
import { facePhoto, multipart } from '../../support/uploads-fixtures';

describe('faces and mosaic (real app, default engine, real photos)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startApp({ FACES_WORKERS: '1', FACES_MAX_QUEUE: '1', MOSAIC_SYNC_MAX_FILES: '3' });
  });
  afterAll(() => t.close());

  function send(route: string, data: Buffer, filename = 'photo.jpg') {
    const { body, contentType } = multipart(data, filename);
    return request(t.url).post(route).set('Content-Type', contentType).send(body);
  }

  it('registers the cascade as an optional face-detection model, ready', async () => {
    const res = await request(t.url).get('/models').expect(200);
    const model = res.body.models.find((m: { name: string }) => m.name === 'haar-frontalface-alt');
    expect(model).toMatchObject({ task: 'face-detection', required: false, status: 'ready' });
    expect(model.files[0].bytes).toBeGreaterThan(600_000);
  });

  it('POST /faces/detect finds the faces with their image size and latency', async () => {
    const res = await send('/faces/detect', facePhoto('two_people.jpg')).expect(200);
    expect(res.body).toMatchObject({ width: 1126, height: 661 });
    expect(res.body.latencyMs).toBeGreaterThan(0);
    // Python OpenCV's full-resolution boxes; detection here runs on a 1024-px copy.
    const reference: [number, number, number, number][] = [
      [236, 31, 169, 169],
      [788, 62, 171, 171],
    ];
    const found = (res.body.faces as FaceBox[]).map(toTuple);
    expect(found).toHaveLength(2);
    for (const r of reference) expect(Math.max(...found.map((f) => iou(r, f)))).toBeGreaterThan(0.85);
  });

  it('respects EXIF orientation: boxes are in the upright image', async () => {
    const upright = facePhoto('obama-480p.jpg');
    // Stored sideways, with orientation 6 ("rotate 90° clockwise to display").
    const sideways = await sharp(upright)
      .rotate(270)
      .withMetadata({ orientation: 6 })
      .jpeg({ quality: 95 })
      .toBuffer();
    expect((await sharp(sideways).metadata()).width).toBe(480);
    const a = await send('/faces/detect', upright).expect(200);
    const b = await send('/faces/detect', sideways).expect(200);
    expect(b.body).toMatchObject({ width: 853, height: 480 });
    expect(b.body.faces).toHaveLength(1);
    expect(iou(toTuple(a.body.faces[0]), toTuple(b.body.faces[0]))).toBeGreaterThan(0.8);
  });

  it('POST /mosaic answers the image in its format, pixelated in the boxes it reports, the rest unchanged', async () => {
    const input = await sharp(facePhoto('kit_with_rose.jpg')).png().toBuffer();
    const res = await send('/mosaic', input, 'kit.png').buffer(true).expect(200);
    expect(res.headers['content-type']).toBe('image/png');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    const boxes = JSON.parse(res.headers['x-face-boxes']) as FaceBox[];
    expect(Number(res.headers['x-face-count'])).toBe(2);
    expect(boxes).toHaveLength(2);
    const before = await decodeRaw(input);
    const after = await decodeRaw(res.body as Buffer);
    expect([after.width, after.height]).toEqual([before.width, before.height]);
    expect(changedOutside(before, after, boxes)).toBe(0);
    for (const box of boxes) expect(nonConstantCells(after, box, 16)).toBe(0);
  });

  it('POST /mosaic keeps JPEG as JPEG, converts on request, and takes blocks and method', async () => {
    const jpeg = facePhoto('obama-480p.jpg');
    const same = await send('/mosaic', jpeg).buffer(true).expect(200);
    expect(same.headers['content-type']).toBe('image/jpeg');
    expect((await sharp(same.body as Buffer).metadata()).format).toBe('jpeg');
    const webp = await send('/mosaic?format=webp&blocks=8&method=blur', jpeg).buffer(true).expect(200);
    expect(webp.headers['content-type']).toBe('image/webp');
    expect((await sharp(webp.body as Buffer).metadata()).format).toBe('webp');
    const png = await send('/mosaic?format=png&blocks=4', jpeg).buffer(true).expect(200);
    const box = JSON.parse(png.headers['x-face-boxes'])[0] as FaceBox;
    expect(nonConstantCells(await decodeRaw(png.body as Buffer), box, 4)).toBe(0);
  });

  it('POST /mosaic keeps the alpha channel of a PNG', async () => {
    const rgba = facePhoto('lin-manuel-miranda.png');
    const res = await send('/mosaic', rgba, 'lin.png').buffer(true).expect(200);
    const meta = await sharp(res.body as Buffer).metadata();
    expect(meta).toMatchObject({ format: 'png', channels: 4, hasAlpha: true });
  });

  it('handles 16-bit and grey+alpha images, and bounds the boxes header', async () => {
    const src = sharp(facePhoto('obama-480p.jpg'));
    const png16 = await src.clone().toColourspace('rgb16').png().toBuffer();
    expect((await sharp(png16).metadata()).depth).toBe('ushort');
    expect((await send('/faces/detect', png16, 'deep.png').expect(200)).body.faces).toHaveLength(1);
    const greyAlpha = await src.clone().greyscale().ensureAlpha(0.5).png().toBuffer();
    const res = await send('/mosaic', greyAlpha, 'grey.png').buffer(true).expect(200);
    expect(await sharp(res.body as Buffer).metadata()).toMatchObject({ format: 'png', hasAlpha: true });
    const raw = await send('/mosaic?minNeighbors=0&format=jpeg', facePhoto('obama-480p.jpg')).expect(200);
    const count = Number(raw.headers['x-face-count']);
    expect(count).toBeGreaterThan(1);
    expect(JSON.parse(raw.headers['x-face-boxes'])).toHaveLength(Math.min(count, 100));
  });

  it('POST /mosaic?response=json stores the image in OUTPUT_DIR and links it', async () => {
    const res = await send('/mosaic?response=json&format=png', facePhoto('obama-480p.jpg')).expect(200);
    expect(res.body).toMatchObject({ width: 853, height: 480 });
    expect(res.body.faces).toHaveLength(1);
    expect(res.body.imageUrl).toMatch(/^\/outputs\/mosaic-[0-9a-f-]{36}\.png$/);
    const file = path.join(t.dataDir, 'output', path.basename(res.body.imageUrl));
    const meta = await sharp(readFileSync(file)).metadata();
    expect(meta).toMatchObject({ format: 'png', width: 853, height: 480 });
  });

  it('refuses bad input with a clear 4xx, one sentence each', async () => {
    const cases: [Promise<request.Response>, number, RegExp][] = [
      [request(t.url).post('/faces/detect'), 400, /^Send the image in the multipart form field "file"\.$/],
      [send('/faces/detect', Buffer.from('not an image at all')), 415, /not a supported image/],
      [send('/mosaic', pngBomb(), 'bomb.png'), 413, /megapixels/],
      [
        send('/mosaic', facePhoto('obama-480p.jpg').subarray(0, 30_000)),
        422,
        /^The JPEG image is truncated or corrupt\.$/,
      ],
      [send('/mosaic?blocks=1', facePhoto('obama-480p.jpg')), 400, /blocks must not be less than 2/],
      [send('/mosaic?blocks=65', facePhoto('obama-480p.jpg')), 400, /blocks must not be greater than 64/],
      [send('/mosaic?method=swirl', facePhoto('obama-480p.jpg')), 400, /method must be one of/],
      [send('/faces/detect?scaleFactor=1', facePhoto('obama-480p.jpg')), 400, /scaleFactor/],
      [send('/mosaic?format=gif', facePhoto('obama-480p.jpg')), 400, /format must be one of/],
      [request(t.url).get('/mosaic?blocks=abc'), 400, /blocks/],
    ];
    for (const [pending, status, message] of cases) {
      const res = await pending;
      expect([res.status, res.body.message]).toEqual([status, expect.stringMatching(message)]);
      expect(res.body.message).not.toContain('\n');
    }
  });

  it('does not block the event loop while detecting', async () => {
    const big = facePhoto('obama_and_biden.jpg');
    const started = Date.now();
    const detecting = send('/faces/detect', big).then((r) => ({
      status: r.status,
      ms: Date.now() - started,
    }));
    await new Promise((r) => setTimeout(r, 150));
    const t0 = Date.now();
    await request(t.url).get('/health/live').expect(200);
    const healthMs = Date.now() - t0;
    const detected = await detecting;
    expect(detected.status).toBe(200);
    expect(healthMs).toBeLessThan(250);
    expect(detected.ms).toBeGreaterThan(150 + healthMs); // the health check really overlapped the detection
  });

  it('answers 429 beyond FACES_WORKERS running and FACES_MAX_QUEUE waiting', async () => {
    const big = facePhoto('obama_and_biden.jpg');
    const results = await Promise.all(Array.from({ length: 6 }, () => send('/faces/detect', big)));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(2);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(1);
    expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
    const busy = results.find((r) => r.status === 429)!;
    expect(busy.body.message).toMatch(
      /^The face detector is busy \(\d+ images in progress\); try again in a few seconds\.$/,
    );
    // Every 429 says when to come back.
    expect(busy.headers['retry-after']).toMatch(/^\d+$/);
    // Capacity is back once they are done.
    await send('/faces/detect', facePhoto('obama-480p.jpg')).expect(200);
  });

  it('GET /mosaic pixelates every upload into OUTPUT_DIR; uploads without a face are failed_files', async () => {
    const names = ['two_people.jpg', 'kit_with_rose.jpg', 'obama_partial_face.jpg'];
    const ids: Record<string, string> = {};
    for (const name of names) {
      const res = await send('/upload', facePhoto(name), name).expect(200);
      ids[name] = res.body.id;
    }
    const res = await request(t.url).get('/mosaic').expect(200);
    expect(res.body.processed_files.sort()).toEqual(['kit_with_rose.jpg', 'two_people.jpg']);
    expect(res.body.failed_files).toEqual(['obama_partial_face.jpg']);
    expect(res.body.message).toBe('Processed 2 of 3 images; 1 had no face.');
    for (const name of ['two_people.jpg', 'kit_with_rose.jpg']) {
      const result = res.body.results.find((r: { id: string }) => r.id === ids[name]);
      expect(result).toMatchObject({
        status: 'processed',
        faces: 2,
        output: `/outputs/${ids[name]}-face.png`,
      });
      const out = path.join(t.dataDir, 'output', `${ids[name]}-face.png`);
      const meta = await sharp(readFileSync(out)).metadata();
      const original = await sharp(facePhoto(name)).metadata();
      expect(meta).toMatchObject({ format: 'png', width: original.width, height: original.height });
    }
    expect(existsSync(path.join(t.dataDir, 'output', `${ids['obama_partial_face.jpg']}-face.png`))).toBe(
      false,
    );
    expect(readdirSync(path.join(t.dataDir, 'output')).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    // Over MOSAIC_SYNC_MAX_FILES (3): refused, nothing processed.
    await send('/upload', facePhoto('obama-480p.jpg'), 'obama-480p.jpg').expect(200);
    const tooMany = await request(t.url).get('/mosaic').expect(422);
    expect(tooMany.body.message).toBe(
      'There are 4 uploaded images, more than the 3 this route processes in one request; start a background job with POST /jobs/mosaic instead.',
    );
  });

  describe('socket.io /vision mosaic', () => {
    let socket: Socket;
    beforeAll(async () => {
      socket = io(`${t.url}/vision`, { transports: ['websocket'], forceNew: true });
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', reject);
      });
    });
    afterAll(() => socket.close());

    const ask = (payload: unknown) =>
      new Promise<Record<string, unknown>>((resolve) =>
        socket
          .timeout(30_000)
          .emit('mosaic', payload, (err: Error | null, reply: Record<string, unknown>) =>
            resolve(err ? { timeout: err.message } : reply),
          ),
      );

    it('pixelates a bare binary image and answers through the acknowledgement', async () => {
      const reply = await ask(facePhoto('obama-480p.jpg'));
      expect(reply).toMatchObject({ width: 853, height: 480, format: 'jpeg' });
      expect(reply.faces).toHaveLength(1);
      expect(Buffer.isBuffer(reply.image)).toBe(true);
      expect((await sharp(reply.image as Buffer).metadata()).format).toBe('jpeg');
    });

    it('takes { image, blocks, format } and validates it, keeping the socket usable', async () => {
      const reply = await ask({ image: facePhoto('obama-480p.jpg'), blocks: 4, format: 'png' });
      expect(reply).toMatchObject({ format: 'png' });
      const box = (reply.faces as FaceBox[])[0];
      expect(nonConstantCells(await decodeRaw(reply.image as Buffer), box, 4)).toBe(0);

      const errors: unknown[] = [];
      socket.on('error', (e) => errors.push(e));
      const bad = await ask({ image: 'not binary', blocks: 100 });
      expect(bad.error).toMatchObject({ statusCode: 400, code: 'bad_request' });
      const notImage = await ask(Buffer.from('hello'));
      expect(notImage.error).toMatchObject({ statusCode: 415 });
      const text = await ask('just text');
      expect(text.error).toMatchObject({ statusCode: 400 });
      expect(errors.length).toBe(3);
      const again = await ask(await solid(64, 64).png().toBuffer());
      expect(again).toMatchObject({ faces: [], width: 64, height: 64, format: 'png' });
    });
  });

  it('documents its routes in OpenAPI', async () => {
    const doc = await request(t.url).get('/docs-json').expect(200);
    expect(doc.body.paths['/mosaic'].post.responses['200'].content).toHaveProperty('image/png');
    expect(doc.body.paths['/mosaic'].get.responses['200']).toBeDefined();
    expect(doc.body.paths['/faces/detect'].post.responses['429']).toBeDefined();
    expect(doc.body.paths['/faces/detect'].post.responses['503']).toBeDefined();
  });
});

describe('FACES_ENGINE: native OpenCV and OpenCV.js behind the same routes', () => {
  it('both engines load, say which they are in /models, and find the same boxes', async () => {
    const found: Record<string, unknown> = {};
    for (const engine of ['native', 'wasm']) {
      const app = await startApp({ FACES_ENGINE: engine, FACES_WORKERS: '1' });
      try {
        const models = await request(app.url).get('/models').expect(200);
        const model = models.body.models.find((m: { name: string }) => m.name === 'haar-frontalface-alt');
        expect(model.status).toBe('ready');
        expect(String(model.details?.engine ?? JSON.stringify(model))).toMatch(
          engine === 'native' ? /native/ : /OpenCV\.js/,
        );
        const { body, contentType } = multipart(facePhoto('obama_and_biden.jpg'), 'photo.jpg');
        const res = await request(app.url).post('/faces/detect').set('Content-Type', contentType).send(body);
        expect(res.status).toBe(200);
        // The same boxes; native OpenCV's parallel passes may list them in another order.
        found[engine] = (res.body.faces as FaceBox[]).map(toTuple).sort((a, b) => a[0] - b[0]);
      } finally {
        await app.close();
      }
    }
    expect((found.native as unknown[]).length).toBeGreaterThan(0);
    expect(found.native).toEqual(found.wasm);
  });
});
