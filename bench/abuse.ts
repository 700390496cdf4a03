/**
 * Hostile clients together against the built server (`npm run build`), while one well-behaved client chats.
 *
 *   npx ts-node --transpile-only bench/abuse.ts [seconds = 60] [attacks = flood,held,mosaic]
 *
 * `attacks` picks some of the three, e.g. `bench/abuse.ts 20 flood` for the socket flood alone.
 * The server runs as `npm start` does, with the chat rate limits off (to see what the server itself does, as
 * the hostile-clients issue probed it) and everything else at its defaults. The attacks run in a child
 * process of their own (`--attack`), so their CPU is theirs, not the measuring client's:
 *   - flood: a socket.io /chat connection emits 5,000 acknowledged messages at once; when the server cuts it,
 *     it reconnects and floods again;
 *   - held-open uploads: 40 connections, each declaring a 10 MB POST /upload, send 9.5 MB of the file part and
 *     never finish; one that is answered or cut is replaced;
 *   - mosaics: 100 concurrent POST /mosaic of a 1920×1080 JPEG, closed loop.
 * The well-behaved client sends one chat message every 50 ms over its own socket.io connection (the easy eval
 * questions in turn) and times each acknowledgement. It runs twice on the same server: first alone (the
 * baseline), then for the same time under the attacks.
 * Reported: the client's p50/p99 in both phases and their ratio, the server's peak RSS (VmHWM), the status
 * counts of every attack (4xx, 5xx, cut), and temporary files left in UPLOAD_DIR and OUTPUT_DIR afterwards.
 * Goal (issue "One hostile client must not starve…"): p99 under 100 ms, no 5xx, RSS under 1.5 GB, no files left.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { io, Socket } from 'socket.io-client';
import { listFiles } from '../tests/support/files';

const ROOT = path.resolve(__dirname, '..');
const FLOOD_EVENTS = 5000;
const HELD_UPLOADS = 40;
const MOSAICS = 100;
const GOOD_EVERY_MS = 50;

type Counts = Record<string, number>;
const bump = (c: Counts, k: string | number) => (c[String(k)] = (c[String(k)] ?? 0) + 1);
const pct = (xs: number[], p: number) =>
  xs.length === 0 ? NaN : [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

// ------------------------------------------------------------------------------------------------------
// Attacks (child process: `bench/abuse.ts --attack <url> <ms> <jpeg>`)

async function flood(url: string, until: number, counts: Counts): Promise<void> {
  while (Date.now() < until) {
    await new Promise<void>((resolve) => {
      const s = io(`${url}/chat`, { transports: ['websocket'], forceNew: true, reconnection: false });
      const stop = setTimeout(() => (s.disconnect(), resolve()), Math.max(0, until - Date.now()));
      s.on('connect', () => {
        bump(counts, 'connections');
        for (let i = 0; i < FLOOD_EVENTS; i++)
          s.emit('message', { text: `안녕 ${i}` }, (a: { reply?: string; error?: { statusCode: number } }) =>
            bump(counts, a?.reply !== undefined ? 'answered' : (a?.error?.statusCode ?? 'other')),
          );
      });
      s.on('connect_error', () => (bump(counts, 'connect_error'), clearTimeout(stop), resolve()));
      s.on('disconnect', () => {
        bump(counts, 'cut');
        clearTimeout(stop);
        setTimeout(resolve, 100);
      });
    });
  }
}

function heldUpload(port: number, counts: Counts): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const boundary = 'xAbuseBoundaryx';
    let answered = false;
    socket.on('data', (d: Buffer) => {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(d.toString('latin1'));
      if (m && !answered) {
        answered = true;
        bump(counts, m[1]);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (!answered) bump(counts, 'cut');
      resolve();
    });
    socket.on('connect', () => {
      socket.write(
        `POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\n` +
          `Content-Length: ${10 * 1024 * 1024}\r\n\r\n--${boundary}\r\n` +
          'Content-Disposition: form-data; name="file"; filename="held.png"\r\nContent-Type: image/png\r\n\r\n',
      );
      socket.write(Buffer.alloc(Math.round(9.5 * 1024 * 1024), 0x41));
    });
  });
}

async function heldUploads(url: string, until: number, counts: Counts, sockets: Set<Promise<void>>) {
  const port = Number(new URL(url).port);
  const lane = async () => {
    while (Date.now() < until) {
      const p = heldUpload(port, counts);
      sockets.add(p);
      await p;
      sockets.delete(p);
    }
  };
  await Promise.all(Array.from({ length: HELD_UPLOADS }, lane));
}

async function mosaics(url: string, until: number, jpeg: Buffer, counts: Counts): Promise<void> {
  const lane = async () => {
    while (Date.now() < until) {
      const form = new FormData();
      form.append('file', new Blob([jpeg], { type: 'image/jpeg' }), 'crowd.jpg');
      try {
        const res = await fetch(`${url}/mosaic`, { method: 'POST', body: form });
        await res.arrayBuffer();
        bump(counts, res.status);
      } catch {
        bump(counts, 'cut');
      }
    }
  };
  await Promise.all(Array.from({ length: MOSAICS }, lane));
}

const ATTACKS = ['flood', 'held', 'mosaic'] as const;
type Attack = (typeof ATTACKS)[number];

async function attack(url: string, ms: number, jpegPath: string, which: Attack[]): Promise<void> {
  const until = Date.now() + ms;
  const result: Partial<Record<Attack, Counts>> = Object.fromEntries(which.map((a) => [a, {}]));
  const open = new Set<Promise<void>>();
  // Not awaited: a held-open upload ends only when the server cuts it; this process exits after `ms`.
  if (result.held) void heldUploads(url, until, result.held, open).catch(() => undefined);
  await Promise.all([
    result.flood && flood(url, until, result.flood),
    result.mosaic && mosaics(url, until, readFileSync(jpegPath), result.mosaic),
    new Promise((r) => setTimeout(r, ms)),
  ]).catch(() => undefined);
  // Held-open sockets end with this process, as a client that gives up.
  process.send?.(result);
  process.exit(0);
}

// ------------------------------------------------------------------------------------------------------
// The well-behaved client and the report

async function goodClient(
  url: string,
  ms: number,
  questions: string[],
): Promise<{ rtts: number[]; failed: number }> {
  const s: Socket = io(`${url}/chat`, { transports: ['websocket'], forceNew: true });
  await new Promise((r) => s.once('session', r));
  const rtts: number[] = [];
  let failed = 0;
  const until = Date.now() + ms;
  for (let i = 0; Date.now() < until; i++) {
    const t0 = performance.now();
    const ack = await new Promise<{ reply?: string } | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), 10_000);
      s.emit('message', { text: questions[i % questions.length] }, (a: { reply?: string }) => {
        clearTimeout(timer);
        resolve(a);
      });
    });
    const dt = performance.now() - t0;
    if (ack?.reply !== undefined) rtts.push(dt);
    else failed++;
    await new Promise((r) => setTimeout(r, Math.max(0, GOOD_EVERY_MS - dt)));
  }
  s.disconnect();
  return { rtts, failed };
}

function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Temporary files in `dirs`, but the upload store's empty spares (made ahead on purpose; one with bytes counts). */
function leftovers(dirs: string[]): string[] {
  const out: string[] = [];
  for (const d of dirs) {
    try {
      for (const f of listFiles(d)) if (/\.tmp/.test(f)) out.push(path.join(path.basename(d), f));
    } catch {
      // not created
    }
  }
  return out;
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 60);
  const which = (process.argv[3] ?? ATTACKS.join(',')).split(',') as Attack[];
  const unknown = which.filter((a) => !ATTACKS.includes(a));
  if (unknown.length)
    throw new Error(`unknown attack(s) ${unknown.join(', ')}; pick from ${ATTACKS.join(', ')}`);
  const { startInstance } =
    require('../tests/support/instances') as typeof import('../tests/support/instances');
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-abuse-'));
  const jpeg = path.join(dir, 'crowd-1080p.jpg');
  await sharp(path.join(ROOT, '..', 'shared', 'datasets', 'faces', 'obama_and_biden.jpg'))
    .resize(1920, 1080, { fit: 'cover' })
    .jpeg({ quality: 90 })
    .toFile(jpeg);
  const questions = readFileSync(path.join(ROOT, 'corpus', 'eval', 'ko-smalltalk.eval.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { q: string }).q);
  const uploads = path.join(dir, 'uploads');
  const outputs = path.join(dir, 'output');
  const server = await startInstance({
    CHAT_RATE_LIMIT_PER_MIN: '0',
    CHAT_RATE_LIMIT_IP_PER_MIN: '0',
    CHAT_INDEX_DIR: path.join(dir, 'index'),
    UPLOAD_DIR: uploads,
    OUTPUT_DIR: outputs,
  });
  try {
    process.stderr.write(`[abuse] baseline: the client alone, ${seconds} s...\n`);
    const base = await goodClient(server.url, seconds * 1000, questions);
    process.stderr.write(`[abuse] under attack, ${seconds} s...\n`);
    const child = fork(__filename, ['--attack', server.url, String(seconds * 1000), jpeg, which.join(',')], {
      execArgv: process.execArgv,
    });
    const attacked = new Promise<Record<string, Counts>>((resolve) =>
      child.once('message', (m) => resolve(m as never)),
    );
    await new Promise((r) => setTimeout(r, 1000));
    const under = await goodClient(server.url, seconds * 1000 - 1000, questions);
    const attacks = await attacked;
    await new Promise((r) => setTimeout(r, 3000));
    const rss = peakRssMb(server.child.pid!);
    const left = leftovers([uploads, outputs]);
    const count5xx = Object.values(attacks)
      .flatMap((c) => Object.entries(c))
      .filter(([k]) => /^5\d\d$/.test(k) && k !== '503')
      .reduce((s, [, v]) => s + v, 0);
    const row = (name: string, r: { rtts: number[]; failed: number }) =>
      `| ${name} | ${r.rtts.length} | ${r.failed} | ${pct(r.rtts, 0.5).toFixed(1)} | ${pct(r.rtts, 0.99).toFixed(1)} | ` +
      `${(pct(r.rtts, 0.99) / pct(base.rtts, 0.99)).toFixed(2)}× |`;
    console.log(
      `\n${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), load average ${loadavg()[0].toFixed(1)} at the end; ` +
        `${seconds} s per phase; attacks: ${which.join(', ')}; the well-behaved client sends a chat message every ${GOOD_EVERY_MS} ms over ` +
        `socket.io; chat rate limits off\n`,
    );
    console.log(
      '| phase | answered | failed | p50 ms | p99 ms | p99 vs baseline |\n|---|---:|---:|---:|---:|---:|',
    );
    console.log(row('alone (baseline)', base));
    console.log(row('under attack', under));
    console.log('\n| attack | outcomes (status or event: count) |\n|---|---|');
    for (const [name, c] of Object.entries(attacks))
      console.log(
        `| ${name} | ${Object.entries(c)
          .map(([k, v]) => `${k}: ${v}`)
          .join(', ')} |`,
      );
    console.log(
      `\nserver peak RSS ${rss.toFixed(0)} MB; 5xx other than 503 (deliberate back-pressure): ${count5xx}; ` +
        `temporary files left: ${left.length}${left.length ? ` (${left.slice(0, 5).join(', ')})` : ''}`,
    );
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--attack')
  void attack(
    process.argv[3],
    Number(process.argv[4]),
    process.argv[5],
    process.argv[6].split(',') as Attack[],
  );
else void main();
