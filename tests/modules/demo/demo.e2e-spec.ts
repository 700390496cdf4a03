import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import request from 'supertest';
import { DEMO_CSP, demoStatic, PUBLIC_DIR } from '../../../src/modules/demo/demo.module';
import { REPO_ROOT, startApp, TestApp } from '../../support/app';

/** Every local URL the page's HTML and its ES modules refer to. */
function referencedAssets(): string[] {
  const html = readFileSync(path.join(PUBLIC_DIR, 'index.html'), 'utf8');
  const urls = [...html.matchAll(/\s(?:src|href)="([^"#]+)"/g)].map((m) => m[1]);
  const modules = ['/js/main.js'];
  for (let i = 0; i < modules.length; i++) {
    const code = readFileSync(path.join(PUBLIC_DIR, modules[i]), 'utf8');
    for (const m of code.matchAll(/from '(\.\/[^']+)'/g)) {
      const url = path.posix.join(path.posix.dirname(modules[i]), m[1]);
      if (!modules.includes(url)) modules.push(url);
    }
  }
  return [...new Set([...urls, ...modules])];
}

describe('demo page served at / (real app over HTTP)', () => {
  let t: TestApp;
  beforeAll(async () => {
    // /health/ready is one of the page's links: it answers 200 once the models are loaded.
    t = await startApp({});
  });
  afterAll(() => t.close());

  it('serves the page with a strict content security policy', async () => {
    const res = await request(t.url).get('/').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toMatch(/<canvas[^>]*id="digit-canvas"/);
    expect(res.text).toContain('lang="ko"');
    expect(res.headers['content-security-policy']).toBe(DEMO_CSP);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['cache-control']).toBe('no-cache');
    // Revalidation is cheap: the same file answers 304.
    const again = await request(t.url).get('/').set('If-None-Match', res.headers['etag']);
    expect(again.status).toBe(304);
  });

  it('serves every asset the page and its modules refer to, all from this service', async () => {
    const assets = referencedAssets();
    expect(assets).toEqual(
      expect.arrayContaining(['/styles.css', '/js/main.js', '/js/chat.js', '/socket.io/socket.io.min.js']),
    );
    for (const url of assets) {
      // No other host, no protocol-relative URL: the page works offline and leaks nothing.
      expect(url).toMatch(/^\/[^/]/);
      const res = await request(t.url).get(url);
      expect({ url, status: res.status }).toEqual({ url, status: 200 });
    }
    const js = await request(t.url).get('/js/main.js').expect(200);
    expect(js.headers['content-type']).toMatch(/javascript/);
    const css = await request(t.url).get('/styles.css').expect(200);
    expect(css.headers['content-type']).toMatch(/^text\/css/);
  });

  it('keeps the API routes, Swagger UI and the JSON 404 of unknown routes', async () => {
    await request(t.url).get('/health/live').expect(200);
    const docs = await request(t.url).get('/docs').expect(200);
    expect(docs.text).toContain('swagger');
    const json = await request(t.url).get('/docs-json').expect(200);
    expect(Object.keys(json.body.paths)).not.toContain('/');
    for (const [method, url] of [
      ['get', '/no/such/route'],
      ['get', '/js/missing.js'],
      ['post', '/'],
    ] as const) {
      const res = await request(t.url)[method](url).expect(404);
      expect(res.body).toEqual({
        statusCode: 404,
        error: 'Not Found',
        message: `Cannot ${method.toUpperCase()} ${url}`,
        requestId: res.headers['x-request-id'],
      });
    }
  });

  it('serves nothing outside public/', async () => {
    const secret = readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8').slice(0, 40);
    for (const url of ['/%2e%2e/package.json', '/..%2Fpackage.json', '/js/%2e%2e/%2e%2e/package.json']) {
      const res = await request(t.url).get(url);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(res.text).not.toContain(secret);
      expect(res.headers['content-type']).toMatch(/json/);
    }
  });
});

describe('DEMO_ENABLED', () => {
  it('false serves only the API', async () => {
    const t = await startApp({ DEMO_ENABLED: 'false' }, { waitForModels: false });
    try {
      const res = await request(t.url).get('/').expect(404);
      expect(res.body.message).toBe('Cannot GET /');
      await request(t.url).get('/styles.css').expect(404);
      await request(t.url).get('/health/live').expect(200);
    } finally {
      await t.close();
    }
  });

  it('rejects a value that is not a boolean, naming the variable', async () => {
    await expect(startApp({ DEMO_ENABLED: 'maybe' }, { waitForModels: false })).rejects.toThrow(
      /DEMO_ENABLED \(got "maybe"\)/,
    );
  });

  it('serves nothing when the folder has no index.html', () => {
    expect(demoStatic({ DEMO_ENABLED: true }, path.join(REPO_ROOT, 'no-such-public-dir'))).toBeNull();
    expect(demoStatic({ DEMO_ENABLED: false })).toBeNull();
    expect(demoStatic({ DEMO_ENABLED: true })?.root).toBe(PUBLIC_DIR);
  });
});
