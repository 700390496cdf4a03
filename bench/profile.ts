/**
 * Where one route's time goes: the built server (`npm run build`) under `node --cpu-prof`, loaded by autocannon
 * (10 connections), then the self time of its main thread by function and by package.
 *
 *   npx ts-node --transpile-only bench/profile.ts <chat|chat-new|predict|predict-photo|upload|live> [seconds = 8]
 *
 * chat: `POST /chat` "안녕하세요" (repeated: the retrieval cache answers); chat-new: a new message text each time;
 * predict / predict-photo: `POST /mnist/predict` of a 28×28 MNIST PNG / the 400×300 photo fixture; upload:
 * `POST /upload` of the 28×28 PNG; live: `GET /health/live`. Native code is counted in the JavaScript function that
 * called it (the FAISS search in `search`, onnxruntime's run in its backend); work on other threads (libvips, the
 * encoder's worker, libuv's pool) is not in the main thread's profile. LOG_LEVEL defaults to info, as served.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { HELD_OUT, mnistPng, styled, trainSet } from '../tests/support/mnist-fixtures';
import { freePort } from '../tests/support/ports';

const ROOT = path.resolve(__dirname, '..');
const autocannon = require('autocannon') as (opts: Record<string, unknown>) => Promise<{
  requests: { average: number };
  latency: { p50: number };
  non2xx: number;
}>;

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

/** The request autocannon sends over and over. */
async function load(route: string): Promise<Record<string, unknown>> {
  const json = (message: string) => ({
    path: '/chat',
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ message }),
  });
  const multipart = (p: string, file: Buffer, type: string) => {
    const boundary = 'profile-boundary';
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="f"\r\nContent-Type: ${type}\r\n\r\n`;
    return {
      path: p,
      method: 'POST',
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      body: Buffer.concat([Buffer.from(head), file, Buffer.from(`\r\n--${boundary}--\r\n`)]),
    };
  };
  switch (route) {
    case 'chat':
      return json('안녕하세요');
    case 'chat-new': {
      let n = 0;
      return {
        ...json(''),
        setupRequest: (req: object) => ({ ...req, body: JSON.stringify({ message: `안녕하세요 ${n++}` }) }),
      };
    }
    case 'predict':
      return multipart('/mnist/predict', await mnistPng(await trainSet(), 0), 'image/png');
    case 'predict-photo':
      return multipart('/mnist/predict', await styled(await trainSet(), HELD_OUT, 'photo'), 'image/jpeg');
    case 'upload':
      return multipart('/upload', await mnistPng(await trainSet(), 0), 'image/png');
    case 'live':
      return { path: '/health/live', method: 'GET' };
    default:
      throw new Error(`unknown route ${route}: chat, chat-new, predict, predict-photo, upload or live`);
  }
}

function summarise(file: string, top: number): void {
  const p = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: ProfileNode[];
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const fn = new Map<string, number>();
  const pkg = new Map<string, number>();
  let total = 0;
  let idle = 0;
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    total += dt;
    if (functionName === '(idle)') return void (idle += dt);
    const where = url
      .replace(/.*node_modules\//, '')
      .replace(`file://${ROOT}/`, '')
      .replace(`${ROOT}/`, '');
    const key = `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
    fn.set(key, (fn.get(key) ?? 0) + dt);
    const owner =
      /^(@[^/]+\/[^/]+|[^/:]+(?=\/)|dist\/[^:]+|node:[^:]+)/.exec(where)?.[1] ?? (where || functionName);
    pkg.set(owner, (pkg.get(owner) ?? 0) + dt);
  });
  const busy = total - idle;
  const table = (title: string, m: Map<string, number>) => {
    console.log(`\n| ${title} | % of busy time |\n| --- | ---: |`);
    for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top))
      console.log(`| ${k.replace(/\|/g, '\\|')} | ${((100 * v) / busy).toFixed(1)} |`);
  };
  console.log(`main thread busy ${((100 * busy) / total).toFixed(0)} % of ${(total / 1e6).toFixed(1)} s`);
  table('function (self time)', fn);
  table('package or file', pkg);
}

async function main(): Promise<void> {
  const route = process.argv[2] ?? 'chat';
  const seconds = Number(process.argv[3] ?? 8);
  const request = await load(route);
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-profile-'));
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['--cpu-prof', `--cpu-prof-dir=${path.join(dir, 'prof')}`, path.join(ROOT, 'dist', 'main.js')],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: {
        ...process.env,
        HOST: '127.0.0.1',
        PORT: String(port),
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
        MNIST_DIR: path.join(ROOT, '..', 'shared', 'datasets', 'mnist'),
        UPLOAD_DIR: path.join(dir, 'uploads'),
        OUTPUT_DIR: path.join(dir, 'output'),
        CHAT_INDEX_DIR: path.join(dir, 'index'),
        CHAT_RATE_LIMIT_PER_MIN: '0',
        CHAT_RATE_LIMIT_IP_PER_MIN: '0',
      },
    },
  );
  const url = `http://127.0.0.1:${port}`;
  try {
    for (let i = 0; ; i++) {
      if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}`);
      const ready = await fetch(`${url}/health/ready`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ready) break;
      if (i > 600) throw new Error('the server did not get ready');
      await new Promise((r) => setTimeout(r, 200));
    }
    const r = await autocannon({ url, connections: 10, duration: seconds, requests: [request] });
    console.log(
      `${route}: ${r.requests.average.toFixed(0)} req/s under the profiler, p50 ${r.latency.p50} ms, ` +
        `${r.non2xx} non-2xx`,
    );
    await new Promise((resolve) => (child.once('exit', resolve), child.kill('SIGINT')));
    const [file] = readdirSync(path.join(dir, 'prof')).filter((f) => f.endsWith('.cpuprofile'));
    summarise(path.join(dir, 'prof', file), 20);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
