/**
 * Demo page benchmark: how fast the service hands out the page and its assets (autocannon, against
 * GET /health/live measured in the same run as the baseline), and how long a real browser (Debian's
 * chromium) takes to show the page and have the chat connected.
 *
 *   npx ts-node --transpile-only bench/demo.ts [seconds per route, default 3] [page loads, default 5]
 */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { AppModule } from '../src/app.module';
import { configureApp } from '../src/app.setup';
import { ChatModule } from '../src/modules/chat/chat.module';
import { DemoModule } from '../src/modules/demo/demo.module';
import { ModelRegistry } from '../src/modules/models/model-registry';
import { launchBrowser } from '../tests/support/browser';

interface CannonResult {
  requests: { average: number };
  latency: { p50: number; p99: number };
  throughput: { average: number };
  non2xx: number;
  errors: number;
}
const autocannon = require('autocannon') as (opts: {
  url: string;
  connections: number;
  duration: number;
}) => Promise<CannonResult>;

// The page and the chat it connects to; importing a module AppModule already imports changes nothing.
@Module({ imports: [AppModule, ChatModule, DemoModule] })
class BenchModule {}

const ROOT = path.resolve(__dirname, '..');
const seconds = Number(process.argv[2] ?? 3);
const loads = Number(process.argv[3] ?? 5);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'ko-ai-bench-'));
  Object.assign(process.env, {
    LOG_LEVEL: 'silent',
    MODELS_DIR: process.env.MODELS_DIR ?? path.join(ROOT, 'models'),
    CORPUS_DIR: process.env.CORPUS_DIR ?? path.join(ROOT, 'corpus'),
    MNIST_DIR: process.env.MNIST_DIR ?? path.join(ROOT, '..', 'shared', 'datasets', 'mnist'),
    UPLOAD_DIR: path.join(dataDir, 'uploads'),
    OUTPUT_DIR: path.join(dataDir, 'output'),
  });
  const app = await NestFactory.create<NestExpressApplication>(BenchModule, {
    bodyParser: false,
    logger: false,
  });
  configureApp(app);
  await app.listen(0, '127.0.0.1');
  await app.get(ModelRegistry).settled();
  const url = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;

  try {
    const routes = ['/health/live', '/', '/styles.css', '/js/chat.js', '/socket.io/socket.io.min.js'];
    // Warm-up (JIT, caches), so that the first route measured is not penalised.
    for (const route of routes) await autocannon({ url: url + route, connections: 10, duration: 1 });
    const rows: string[] = [];
    let base = 0;
    for (const route of routes) {
      const r = await autocannon({ url: url + route, connections: 10, duration: seconds });
      if (r.non2xx > 0 || r.errors > 0) {
        rows.push(`| \`GET ${route}\` | not served (${r.non2xx} non-2xx, ${r.errors} errors) | | | | |`);
        continue;
      }
      if (route === '/health/live') base = r.requests.average;
      const kb = r.throughput.average / r.requests.average / 1024;
      rows.push(
        `| \`GET ${route}\` | ${Math.round(r.requests.average)} | ${(r.requests.average / base).toFixed(2)}× | ` +
          `${r.latency.p50} | ${r.latency.p99} | ${kb.toFixed(1)} |`,
      );
    }
    console.log(`\nHTTP, 10 connections, ${seconds} s per route (autocannon); baseline: GET /health/live\n`);
    console.log('| Route | req/s | vs baseline | p50 ms | p99 ms | KiB/response |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
    console.log(rows.join('\n'));

    const browser = await launchBrowser();
    try {
      const dcl: number[] = [];
      const load: number[] = [];
      const online: number[] = [];
      for (let i = 0; i < loads; i++) {
        // A fresh context each time: an empty cache, as a first visit.
        const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
        const page = await context.newPage();
        const started = Date.now();
        await page.goto(`${url}/`, { waitUntil: 'load' });
        const nav = await page.evaluate<{ dcl: number; load: number }>(
          `(() => { const n = performance.getEntriesByType('navigation')[0];
             return { dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd }; })()`,
        );
        await page.locator('#chat-status[data-state="online"]').waitFor({ timeout: 30_000 });
        online.push(Date.now() - started);
        dcl.push(nav.dcl);
        load.push(nav.load);
        await context.close();
      }
      console.log(`\nFirst visit in headless chromium (empty cache), median of ${loads} loads\n`);
      console.log('| Milestone | ms |');
      console.log('| --- | ---: |');
      console.log(`| DOMContentLoaded | ${median(dcl).toFixed(0)} |`);
      console.log(`| load (page, styles, scripts, icon) | ${median(load).toFixed(0)} |`);
      console.log(`| chat connected (socket.io \`/chat\`) | ${median(online).toFixed(0)} |`);
    } finally {
      await browser.close();
    }
  } finally {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
