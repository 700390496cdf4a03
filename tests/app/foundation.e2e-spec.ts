import request from 'supertest';
import { startApp, TestApp } from '../support/app';

describe('service foundation (real app over HTTP)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ BODY_LIMIT: '16kb' });
  });
  afterAll(() => t.close());

  it('answers liveness with a request id header', async () => {
    const res = await request(t.url).get('/health/live').expect(200);
    expect(res.body.status).toBe('ok');
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('echoes a sane incoming X-Request-Id and replaces a malicious one', async () => {
    const ok = await request(t.url).get('/health/live').set('X-Request-Id', 'proxy-abc.123').expect(200);
    expect(ok.headers['x-request-id']).toBe('proxy-abc.123');
    const bad = await request(t.url).get('/health/live').set('X-Request-Id', 'a b\tc<script>').expect(200);
    expect(bad.headers['x-request-id']).not.toContain('<');
  });

  it('reports readiness from the required models', async () => {
    const { ready } = t.registry.readiness();
    const res = await request(t.url).get('/health/ready');
    expect(res.status).toBe(ready ? 200 : 503);
  });

  it('lists the models it knows', async () => {
    const res = await request(t.url).get('/models').expect(200);
    expect(Array.isArray(res.body.models)).toBe(true);
    for (const m of res.body.models) {
      expect(['loading', 'ready', 'missing', 'failed']).toContain(m.status);
      expect(typeof m.name).toBe('string');
      expect(typeof m.task).toBe('string');
    }
  });

  it('serves the OpenAPI document and Swagger UI', async () => {
    const json = await request(t.url).get('/docs-json').expect(200);
    expect(json.body.openapi).toMatch(/^3\./);
    expect(Object.keys(json.body.paths)).toEqual(
      expect.arrayContaining(['/health/live', '/health/ready', '/models', '/metrics']),
    );
    const ui = await request(t.url).get('/docs').expect(200);
    expect(ui.text).toContain('swagger');
  });

  it('exposes Prometheus metrics that count requests by route and status', async () => {
    await request(t.url).get('/health/live');
    const res = await request(t.url).get('/metrics').expect(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.text).toMatch(/http_requests_total\{method="GET",route="\/health\/live",status="200"\} \d+/);
    expect(res.text).toContain('http_request_duration_seconds_bucket');
    expect(res.text).toContain('inference_duration_seconds');
    expect(res.text).toContain('ws_connections');
  });

  it('answers an unknown route with the JSON error shape', async () => {
    const res = await request(t.url).get('/no/such/route').expect(404);
    expect(res.body).toEqual({
      statusCode: 404,
      error: 'Not Found',
      message: 'Cannot GET /no/such/route',
      requestId: res.headers['x-request-id'],
    });
  });

  it('answers malformed JSON with 400 in the error shape', async () => {
    const res = await request(t.url)
      .post('/models')
      .set('Content-Type', 'application/json')
      .send('{"a": ')
      .expect(400);
    expect(res.body.statusCode).toBe(400);
    expect(res.body.error).toBe('Bad Request');
    expect(res.body.requestId).toBe(res.headers['x-request-id']);
    expect(res.body.message).not.toMatch(/\n|at .*\.js/);
  });

  it('refuses an oversized body with 413 before reading it all', async () => {
    const big = JSON.stringify({ message: 'x'.repeat(32 * 1024) });
    const res = await request(t.url)
      .post('/models')
      .set('Content-Type', 'application/json')
      .send(big)
      .expect(413);
    expect(res.body).toMatchObject({
      statusCode: 413,
      error: 'Payload Too Large',
      message: 'Request body is too large.',
    });
    expect(typeof res.body.requestId).toBe('string');
  });
});
