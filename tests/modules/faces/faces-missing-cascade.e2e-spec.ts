import { io } from 'socket.io-client';
import request from 'supertest';
import { TestApp } from '../../support/app';
import { startAppWithoutCascade } from '../../support/faces-fixtures';
import { facePhoto, multipart } from '../../support/uploads-fixtures';

describe('faces without the Haar cascade (HAAR_CASCADE_PATH missing, no fallback)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startAppWithoutCascade();
  });
  afterAll(() => t?.close());

  function send(route: string) {
    const { body, contentType } = multipart(facePhoto('obama-480p.jpg'), 'obama.jpg');
    return request(t.url).post(route).set('Content-Type', contentType).send(body);
  }

  const HOW =
    /not installed: install Debian's opencv-data package \(apt-get install opencv-data\), run "npm run models:pull", or set HAAR_CASCADE_PATH/;

  it('answers 503 on the face and mosaic routes, saying how to install the cascade', async () => {
    for (const res of [
      await send('/faces/detect'),
      await send('/mosaic'),
      await request(t.url).get('/mosaic'),
    ]) {
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable' });
      expect(res.body.message).toMatch(HOW);
    }
  });

  it('reports the model as missing, with how to install it', async () => {
    const res = await request(t.url).get('/models').expect(200);
    const model = res.body.models.find((m: { name: string }) => m.name === 'haar-frontalface-alt');
    expect(model).toMatchObject({ status: 'missing', required: false, files: [] });
    expect(model.error).toMatch(HOW);
  });

  it('answers the socket.io mosaic event with a 503 error too', async () => {
    const socket = io(`${t.url}/vision`, { transports: ['websocket'], forceNew: true });
    try {
      const reply = await new Promise<{ error?: { statusCode: number; message: string } }>((resolve) =>
        socket.emit('mosaic', facePhoto('obama-480p.jpg'), resolve),
      );
      expect(reply.error?.statusCode).toBe(503);
    } finally {
      socket.close();
    }
  });

  it('affects nothing else: uploads and liveness work', async () => {
    await request(t.url).get('/health/live').expect(200);
    const res = await send('/upload').expect(200);
    expect(res.body.width).toBe(853);
  });
});
