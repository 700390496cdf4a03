/**
 * The seed routes against the original FastAPI router (bench/seed_peer.py: FastAPI 0.92 + uvicorn, Debian's
 * python3-fastapi, python3-uvicorn, python3-multipart, python3-opencv), on the same files in the same run.
 *
 *   npx ts-node --transpile-only bench/seed-peer.ts [requests per size = 30] [routes = mosaic,upload]
 *
 * Ours is the built server (`npm run build`) as `npm start` runs it. One Node client sends the same requests
 * to both, one at a time and alternating, so both see the same machine; each time is a whole request (connect,
 * send, answer read). Medians (and p90) over `requests` after 5 warm-ups:
 *   - POST /upload of a 1 MP JPEG, a 12 MP JPEG (both from a real photo in ../shared/datasets/faces) and a
 *     28×28 PNG (an MNIST digit): the original copies the bytes under the client's name and checks nothing;
 *     ours checks magic bytes, the pixel cap and a complete (shrink-on-load) decode, hashes, and stores the
 *     file and its record atomically under a new id;
 *   - GET /mosaic over the 10 photos of ../shared/datasets/faces, uploaded to both first;
 *   - the 28×28 PNG again once both hold 2,000 more uploads (a store in use, not an empty one).
 * ratio = ours / original (below 1: faster than the original).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { gunzipSync } from 'node:zlib';

const ROOT = path.resolve(__dirname, '..');
const FACES = path.join(ROOT, '..', 'shared', 'datasets', 'faces');
const WARMUP = 5;
const STORED = 2000;

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

interface Server {
  name: string;
  url: string;
  stop(): Promise<unknown>;
}

async function startOriginal(dir: string): Promise<Server> {
  const { freePort } = require('../tests/support/ports') as typeof import('../tests/support/ports');
  const port = await freePort();
  const child = spawn(
    '/usr/bin/python3',
    [
      path.join(ROOT, 'bench', 'seed_peer.py'),
      String(port),
      path.join(dir, 'uploads'),
      path.join(dir, 'output'),
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`bench/seed_peer.py exited with ${child.exitCode}`);
    try {
      await fetch(`${url}/docs`);
      break;
    } catch {
      if (i > 300) throw new Error('bench/seed_peer.py did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    name: 'original',
    url,
    stop: () => new Promise((r) => (child.once('exit', r), child.kill('SIGTERM'))),
  };
}

async function startOurs(dir: string): Promise<Server> {
  const { startInstance } =
    require('../tests/support/instances') as typeof import('../tests/support/instances');
  const instance = await startInstance({
    CHAT_INDEX_DIR: path.join(dir, 'index'),
    UPLOAD_DIR: path.join(dir, 'uploads'),
    OUTPUT_DIR: path.join(dir, 'output'),
  });
  return { name: 'ours', url: instance.url, stop: () => instance.stop() };
}

async function upload(url: string, bytes: Buffer, name: string, type: string): Promise<number> {
  const form = new FormData();
  form.append('file', new Blob([bytes], { type }), name);
  const t0 = performance.now();
  const res = await fetch(`${url}/upload`, { method: 'POST', body: form });
  await res.arrayBuffer();
  const ms = performance.now() - t0;
  if (res.status !== 200 && res.status !== 201) throw new Error(`${url}/upload answered ${res.status}`);
  return ms;
}

/** A route that does nothing: ours `GET /health/live`, the original's `GET /openapi.json` (cached by FastAPI). */
async function floor(url: string, route: string): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${url}${route}`);
  await res.arrayBuffer();
  const ms = performance.now() - t0;
  if (res.status !== 200) throw new Error(`${url}${route} answered ${res.status}`);
  return ms;
}

async function mosaic(url: string): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${url}/mosaic`);
  const body = (await res.json()) as unknown;
  const ms = performance.now() - t0;
  if (res.status !== 200) throw new Error(`${url}/mosaic answered ${res.status}: ${JSON.stringify(body)}`);
  return ms;
}

/** Alternates `a` and `b` so that both see the same moments of the machine. */
async function sideBySide(
  n: number,
  a: () => Promise<number>,
  b: () => Promise<number>,
): Promise<[number[], number[]]> {
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < WARMUP + n; i++) {
    const [x, y] = i % 2 ? [await b(), await a()].reverse() : [await a(), await b()];
    if (i < WARMUP) continue;
    ta.push(x);
    tb.push(y);
  }
  return [ta, tb];
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 30);
  const routes = (process.argv[3] ?? 'mosaic,upload').split(',');
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-seed-'));
  const photo = path.join(FACES, 'obama_and_biden.jpg');
  const files: [string, Buffer, string, string][] = [
    [
      '1 MP JPEG',
      await sharp(photo).resize(1155, 866, { fit: 'fill' }).jpeg({ quality: 92 }).toBuffer(),
      'photo.jpg',
      'image/jpeg',
    ],
    [
      '12 MP JPEG',
      await sharp(photo).resize(4000, 3000, { fit: 'fill' }).jpeg({ quality: 90 }).toBuffer(),
      'big.jpg',
      'image/jpeg',
    ],
    ['28×28 PNG', await digitPng(), 'digit.png', 'image/png'],
  ];
  const ours = await startOurs(path.join(dir, 'ours'));
  const original = await startOriginal(path.join(dir, 'original'));
  const rows: string[] = [];
  const row = (what: string, size: string, o: number[], p: number[]) =>
    rows.push(
      `| ${what} | ${size} | ${pct(p, 0.5).toFixed(2)} | ${pct(p, 0.9).toFixed(2)} | ${pct(o, 0.5).toFixed(2)} | ` +
        `${pct(o, 0.9).toFixed(2)} | ${(pct(o, 0.5) / pct(p, 0.5)).toFixed(2)}× |`,
    );
  try {
    // The 10 photos into both, then GET /mosaic over them, before any other upload.
    for (const f of readdirSync(FACES).filter((f) => /\.(jpe?g|png)$/.test(f))) {
      const bytes = readFileSync(path.join(FACES, f));
      const type = f.endsWith('.png') ? 'image/png' : 'image/jpeg';
      await upload(ours.url, bytes, f, type);
      await upload(original.url, bytes, f, type);
    }
    if (routes.includes('mosaic')) {
      const [mo, mp] = await sideBySide(
        Math.max(5, Math.round(n / 3)),
        () => mosaic(ours.url),
        () => mosaic(original.url),
      );
      row('GET /mosaic', '10 photos', mo, mp);
    }
    if (routes.includes('upload')) await uploads();
  } finally {
    await Promise.all([ours.stop(), original.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }
  async function uploads(): Promise<void> {
    // How much of a ratio is the HTTP stack alone: a route that does nothing, on each.
    const [fo, fp] = await sideBySide(
      n,
      () => floor(ours.url, '/health/live'),
      () => floor(original.url, '/openapi.json'),
    );
    row('GET (nothing to do)', 'ours /health/live, original /openapi.json', fo, fp);
    for (const [size, bytes, name, type] of files) {
      let k = 0;
      // A new name each time: the original would overwrite one file, ours stores every upload anyway.
      const [o, p] = await sideBySide(
        n,
        () => upload(ours.url, bytes, `${k}-${name}`, type),
        () => upload(original.url, bytes, `${k++}-${name}`, type),
      );
      row('POST /upload', `${size} (${Math.round(bytes.length / 1024)} KB)`, o, p);
    }
    // A store that has been in use: 2,000 more uploads in both (untimed, 8 at a time), then the small PNG again.
    const [, digit, , type] = files[2];
    let m = 0;
    const fill = async () => {
      while (m < STORED) {
        const name = `fill-${m++}.png`;
        await upload(ours.url, digit, name, type);
        await upload(original.url, digit, name, type);
      }
    };
    await Promise.all(Array.from({ length: 8 }, fill));
    let k = 0;
    const [o, p] = await sideBySide(
      n,
      () => upload(ours.url, digit, `again-${k}.png`, type),
      () => upload(original.url, digit, `again-${k++}.png`, type),
    );
    row('POST /upload', `28×28 PNG, ${STORED} more already stored`, o, p);
  }
  console.log(`\n${n} requests per size after ${WARMUP} warm-ups, one at a time, alternating; times in ms\n`);
  console.log('| route | input | original p50 | original p90 | ours p50 | ours p90 | ours / original |');
  console.log('|---|---|---:|---:|---:|---:|---:|');
  for (const r of rows) console.log(r);
}

/** A real MNIST digit (the first training image) as a 28×28 grey PNG. */
async function digitPng(): Promise<Buffer> {
  const images = gunzipSync(
    readFileSync(path.join(ROOT, '..', 'shared', 'datasets', 'mnist', 'train-images-idx3-ubyte.gz')),
  );
  const pixels = images.subarray(16, 16 + 784);
  return sharp(Buffer.from(pixels), { raw: { width: 28, height: 28, channels: 1 } })
    .png()
    .toBuffer();
}

void main();
