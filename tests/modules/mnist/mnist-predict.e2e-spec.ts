import sharp from 'sharp';
import request from 'supertest';
import { io, Socket } from 'socket.io-client';
import { MnistSet } from '../../../src/modules/mnist/idx';
import { startApp, TestApp } from '../../support/app';
import { bmpOf, pngBomb, solid } from '../../support/images';
import {
  digitAnimatedGif,
  digitCmykJpeg,
  digitExifRotated,
  digitPng16,
  HELD_OUT,
  mnistPng,
  STYLES,
  styled,
  trainSet,
} from '../../support/mnist-fixtures';

interface Prediction {
  digit: number;
  confidence: number;
  probabilities: number[];
  latencyMs: number;
}

describe('POST /mnist/predict and socket.io mnist:predict (real app, real model)', () => {
  let t: TestApp;
  let set: MnistSet;
  beforeAll(async () => {
    // A small upload limit so that "too large" is cheap to test; every fixture is far below it.
    [t, set] = await Promise.all([startApp({ UPLOAD_MAX_BYTES: '256kb' }), trainSet()]);
  });
  afterAll(() => t.close());

  const predict = (buf: Buffer, name = 'digit.png', field = 'file') =>
    request(t.url).post('/mnist/predict').attach(field, buf, name);

  it('registers the model as required and ready, with its input shape, size and labels', async () => {
    const res = await request(t.url).get('/models').expect(200);
    const m = res.body.models.find((x: { name: string }) => x.name === 'mnist-cnn');
    expect(m).toMatchObject({
      task: 'image-classification',
      required: true,
      status: 'ready',
      folder: 'models/mnist-cnn',
    });
    expect(m.details).toMatchObject({
      inputShape: ['batch', 1, 28, 28],
      labels: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    });
    expect(m.details.parameters).toBeGreaterThan(0);
    expect(m.sizeBytes).toBeGreaterThan(100_000);
    await request(t.url).get('/health/ready').expect(200);
  });

  it('recognises one image sent in field "file"', async () => {
    const i = HELD_OUT + 1;
    const res = await predict(await styled(set, i, 'paper')).expect(200);
    const body = res.body as Prediction;
    expect(body.digit).toBe(set.label(i));
    expect(body.probabilities).toHaveLength(10);
    expect(body.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(body.confidence).toBe(body.probabilities[body.digit]);
    expect(body.confidence).toBeGreaterThan(0.5);
    expect(body.latencyMs).toBeGreaterThan(0);
    expect(body.latencyMs).toBeLessThan(2000);
  });

  it('reaches ≥ 95% on 100 held-out digits rendered in six real-world styles, in batches (field "files")', async () => {
    const n = 100;
    const indices = Array.from({ length: n }, (_, k) => HELD_OUT + 200 + k);
    const images = await Promise.all(indices.map((i, k) => styled(set, i, STYLES[k % STYLES.length])));
    let correct = 0;
    const perStyle: Record<string, number> = {};
    for (let start = 0; start < n; start += 25) {
      let req = request(t.url).post('/mnist/predict');
      for (let k = start; k < start + 25; k++) req = req.attach('files', images[k], `d${k}.img`);
      const res = await req.expect(200);
      expect(res.body).toHaveLength(25);
      (res.body as Prediction[]).forEach((p, j) => {
        const k = start + j;
        if (p.digit === set.label(indices[k])) {
          correct++;
          perStyle[STYLES[k % STYLES.length]] = (perStyle[STYLES[k % STYLES.length]] ?? 0) + 1;
        }
      });
    }
    expect(correct / n).toBeGreaterThanOrEqual(0.95);
    // 16 or 17 of each style; none may be a weak spot.
    for (const style of STYLES) expect(perStyle[style] ?? 0).toBeGreaterThanOrEqual(14);
  });

  it('keeps the order of a batch and answers an array even for one file in "files"', async () => {
    const picks = [HELD_OUT + 2, HELD_OUT + 3, HELD_OUT + 4];
    let req = request(t.url).post('/mnist/predict');
    for (const i of picks) req = req.attach('files', await mnistPng(set, i), `${i}.png`);
    const res = await req.expect(200);
    expect((res.body as Prediction[]).map((p) => p.digit)).toEqual(picks.map((i) => set.label(i)));
    const one = await predict(await mnistPng(set, HELD_OUT), 'x.png', 'files').expect(200);
    expect(Array.isArray(one.body)).toBe(true);
  });

  it('accepts unusual but valid images: 16-bit PNG, CMYK JPEG, animated GIF, EXIF rotation, BMP, TIFF, WebP', async () => {
    const i = HELD_OUT + 9;
    const paper = await styled(set, i, 'paper');
    const { data, info } = await sharp(paper).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    const images: Record<string, Buffer> = {
      png16: await digitPng16(set, i),
      cmyk: await digitCmykJpeg(set, i),
      gif: await digitAnimatedGif(set, i),
      exif: await digitExifRotated(set, i),
      bmp: bmpOf(info.width, info.height, data),
      tiff: await sharp(paper).tiff().toBuffer(),
      webp: await sharp(paper).webp({ quality: 80 }).toBuffer(),
      alpha: await styled(set, i, 'alpha'),
    };
    for (const [kind, buf] of Object.entries(images)) {
      const res = await predict(buf, `x.${kind}`);
      expect({ kind, status: res.status, digit: res.body.digit }).toEqual({
        kind,
        status: 200,
        digit: set.label(i),
      });
    }
  });

  it('refuses bad input with a clear one-sentence 4xx and keeps serving', async () => {
    const png = await mnistPng(set, HELD_OUT);
    const cases: [string, request.Test, number, RegExp][] = [
      [
        'not an image',
        predict(Buffer.from('hello, this is text'), 'a.png'),
        415,
        /not a supported image \(PNG, JPEG, WebP, GIF, BMP or TIFF expected\)/,
      ],
      [
        'truncated PNG',
        predict(png.subarray(0, Math.floor(png.length / 2)), 'cut.png'),
        422,
        /PNG image is truncated or corrupt/,
      ],
      ['zero bytes', predict(Buffer.alloc(0), 'empty.png'), 400, /The file is empty/],
      [
        'decompression bomb',
        predict(pngBomb(50000, 50000), 'bomb.png'),
        413,
        /more pixels than the limit of 40\.0 megapixels|50000×50000/,
      ],
      [
        'wrong field name',
        predict(png, 'a.png', 'image'),
        400,
        /Unexpected field "image": Send the image .* in the field "file"/,
      ],
      [
        'no file',
        request(t.url).post('/mnist/predict').field('note', 'hi'),
        400,
        /^Send the image as multipart\/form-data in the field "file"/,
      ],
      [
        'JSON instead of multipart',
        request(t.url).post('/mnist/predict').send({ file: 'x' }),
        400,
        /field "file"/,
      ],
      ['too large', predict(Buffer.alloc(300 * 1024, 1), 'big.png'), 413, /at most 0\.3 MB/],
      [
        'blank image',
        predict(await solid(200, 200).png().toBuffer(), 'blank.png'),
        422,
        /^The image shows no digit: it is blank/,
      ],
    ];
    for (const [name, req, status, message] of cases) {
      const res = await req;
      expect({ name, status: res.status }).toEqual({ name, status });
      expect(res.body.message).toMatch(message);
      expect(res.body.message).not.toMatch(/\n/);
      expect(res.body.requestId).toBe(res.headers['x-request-id']);
    }
    let many = request(t.url).post('/mnist/predict');
    for (let k = 0; k < 33; k++) many = many.attach('files', png, `${k}.png`);
    const tooMany = await many;
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.message).toBe('Send at most 32 images per request.');

    const batch = await request(t.url)
      .post('/mnist/predict')
      .attach('files', png, 'good.png')
      .attach('files', Buffer.from('nope'), 'bad.txt')
      .attach('files', png, 'good2.png');
    expect(batch.status).toBe(415);
    expect(batch.body.message).toMatch(/^Image 2 of 3 \(bad\.txt\): The file is not a supported image/);

    await request(t.url).get('/health/live').expect(200);
    expect((await predict(png)).status).toBe(200);
  });

  it('records inference time for the model in /metrics', async () => {
    const res = await request(t.url).get('/metrics').expect(200);
    const m = /inference_duration_seconds_count\{model="mnist-cnn"\} (\d+)/.exec(res.text);
    expect(Number(m?.[1])).toBeGreaterThan(0);
  });

  describe('socket.io /vision mnist:predict', () => {
    let socket: Socket;
    beforeAll(async () => {
      socket = io(`${t.url}/vision`, { transports: ['websocket'], forceNew: true, reconnection: false });
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', reject);
      });
    });
    afterAll(() => socket.close());

    const ask = (payload: unknown) =>
      new Promise<Prediction & { error?: { statusCode: number; message: string; code: string } }>((resolve) =>
        socket.emit('mnist:predict', payload, resolve),
      );

    it('answers a binary image in the acknowledgement, like the HTTP route', async () => {
      const i = HELD_OUT + 11;
      const img = await styled(set, i, 'canvas');
      const viaSocket = await ask(img);
      expect(viaSocket.digit).toBe(set.label(i));
      expect(viaSocket.probabilities).toHaveLength(10);
      const viaHttp = (await predict(img).expect(200)).body as Prediction;
      expect(viaSocket.digit).toBe(viaHttp.digit);
      viaSocket.probabilities.forEach((p, k) => expect(p).toBeCloseTo(viaHttp.probabilities[k], 6));
      // An ArrayBuffer (what browsers send) and { image } work too.
      const ab = img.buffer.slice(img.byteOffset, img.byteOffset + img.byteLength);
      expect((await ask(ab)).digit).toBe(set.label(i));
      expect((await ask({ image: img })).digit).toBe(set.label(i));
      // The same request under its transport-wide name (mnist.predict, as on the message transport).
      const named = await new Promise<Prediction>((resolve) => socket.emit('mnist.predict', img, resolve));
      expect(named.digit).toBe(set.label(i));
    });

    it('sends errors as an `error` event and in the ack, and the socket stays usable', async () => {
      const events: { statusCode: number; message: string }[] = [];
      socket.on('error', (e) => events.push(e));
      const notBinary = await ask('hello');
      expect(notBinary.error).toMatchObject({ statusCode: 400, code: 'bad_request' });
      expect(notBinary.error?.message).toMatch(/^Send the image as binary data/);
      const notImage = await ask(Buffer.from('plain text'));
      expect(notImage.error).toMatchObject({ statusCode: 415 });
      const blank = await ask(await solid(100, 100).png().toBuffer());
      expect(blank.error).toMatchObject({ statusCode: 422 });
      const bomb = await ask(pngBomb());
      expect(bomb.error).toMatchObject({ statusCode: 413 });
      expect(events.map((e) => e.statusCode)).toEqual([400, 415, 422, 413]);
      expect(socket.connected).toBe(true);
      expect((await ask(await mnistPng(set, HELD_OUT))).digit).toBe(set.label(HELD_OUT));
    });
  });
});
